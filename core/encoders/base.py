"""What choosing an encoder by name can fail with; shared by the registry (core.encoders.registry) and
the encoders it builds (core.encoders.text), so neither has to import the other for them."""

from __future__ import annotations


class UnknownEncoderError(KeyError):
    """No encoder of that name (and kind); the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class WeightsUnavailableError(RuntimeError):
    """The encoder's weights are not on this machine; the message says how to get them."""
