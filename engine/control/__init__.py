"""Live control: the OSC address map, the UDP server, bindings, and the performance log."""
