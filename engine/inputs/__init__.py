"""The outside world as typed commands: OSC (address map, parsing, server, bindings), keys, logs."""
