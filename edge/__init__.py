"""mood-edge: a Raspberry Pi mood sensor that publishes the room's mood and movie picks over MQTT."""

__version__ = "0.1.0"
