# paysys: one image for web (gunicorn), Celery worker, beat and one-off commands (migrate).
# Build: docker build -t paysys .   Run: docker compose up (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PAYSYS_ENV=production \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/paysys-metrics

WORKDIR /app

RUN groupadd --system --gid 10001 paysys \
    && useradd --system --uid 10001 --gid paysys --home-dir /app --shell /usr/sbin/nologin paysys

# Dependencies first, so a code change does not reinstall them (all of them ship wheels or pure-Python sources: no compiler needed).
# requirements.txt only: honcho and the embedded PostgreSQL of `make run` (requirements-run.txt) stay out.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY --chown=paysys:paysys . .

# Static files are collected at build time and served by whitenoise. The production settings
# insist on a SECRET_KEY and a DATABASE_URL; these throwaway ones exist only inside this build
# step (collectstatic connects to no database), and the broker folders it touches are thrown
# away with it.
RUN PAYSYS_VAR_DIR=/tmp/build-var SECRET_KEY=collectstatic-only-not-a-runtime-secret \
    DATABASE_URL=postgres://collectstatic-only@localhost/unused \
    PROMETHEUS_MULTIPROC_DIR= python manage.py collectstatic --noinput \
    && rm -rf /tmp/build-var \
    && mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && chown paysys:paysys "$PROMETHEUS_MULTIPROC_DIR"

USER paysys
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "paysys.ops.probe", "healthz"]

CMD ["gunicorn", "--config", "python:paysys.ops.gunicorn_conf", "paysys.wsgi:application"]
