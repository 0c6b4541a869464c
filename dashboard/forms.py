"""The span the dashboard shows, from its GET parameters: ``start``, ``end`` (ISO dates, UTC)
and ``mode`` (live or test). Absent or empty, the last 30 days in the environment's own mode
(live in production, test elsewhere)."""

from datetime import date, timedelta

from django import forms
from django.conf import settings

from dashboard.services import today

DEFAULT_DAYS = 30
MAX_DAYS = 366
PRESETS_DAYS = (7, 30, 90)
LIVE, TEST = "live", "test"


def default_mode() -> str:
    return LIVE if settings.PAYSYS_ENV == "production" else TEST


def defaults() -> dict[str, str]:
    last = today()
    return {
        "start": (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "end": last.isoformat(),
        "mode": default_mode(),
    }


class SpanForm(forms.Form):
    """Bound to the request's parameters over the defaults, so the form shows the span shown."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    mode = forms.ChoiceField(choices=[(LIVE, "Live"), (TEST, "Test")])

    def __init__(self, params) -> None:
        super().__init__({**defaults(), **{name: value for name, value in params.items() if value}})

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data
        if end > today():
            self.add_error("end", f"The span cannot end after today ({today()}).")
        elif start > end:
            self.add_error("start", "The span must start on or before its end.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", f"A span is at most {MAX_DAYS} days.")
        return data

    @property
    def span(self) -> tuple[date, date]:
        return self.cleaned_data["start"], self.cleaned_data["end"]

    @property
    def livemode(self) -> bool:
        return self.cleaned_data["mode"] == LIVE
