"""The span the dashboard shows, from its GET parameters: ``start``, ``end`` (ISO dates, UTC)
and ``mode`` (live or test). Absent, the last 30 days of the environment's own mode."""

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


class SpanForm(forms.Form):
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    mode = forms.ChoiceField(required=False, choices=[(LIVE, "Live"), (TEST, "Test")])

    def clean(self) -> dict:
        data = super().clean()
        end = data.get("end") or today()
        start = data.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if end > today():
            self.add_error("end", f"The span cannot end after today ({today()}).")
        elif start > end:
            self.add_error("start", "The span must start on or before its end.")
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("start", f"A span is at most {MAX_DAYS} days.")
        data.update(start=start, end=end, mode=data.get("mode") or default_mode())
        return data

    @property
    def span(self) -> tuple[date, date]:
        return self.cleaned_data["start"], self.cleaned_data["end"]

    @property
    def livemode(self) -> bool:
        return self.cleaned_data["mode"] == LIVE
