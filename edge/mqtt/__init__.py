"""The publisher: the message contract, the one paho client, what is sent when, Home Assistant."""
