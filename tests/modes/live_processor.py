"""A stand-in for the live card network (outside the project): the simulator's behaviour, and a
record of every reference that reached it, so tests can tell which adapter a payment went to."""

from payments.processor.simulator import SimulatorProcessor

PATH = "tests.modes.live_processor.RecordingLiveProcessor"


class RecordingLiveProcessor(SimulatorProcessor):
    references: list[str] = []

    def authorize(self, *, reference: str, **kwargs):
        self.references.append(reference)
        return super().authorize(reference=reference, **kwargs)

    def capture(self, *, reference: str, **kwargs):
        self.references.append(reference)
        return super().capture(reference=reference, **kwargs)

    def refund(self, *, reference: str, **kwargs):
        self.references.append(reference)
        return super().refund(reference=reference, **kwargs)
