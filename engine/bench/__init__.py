"""``vernissage bench``: offline render, live play and OSC latency, each against a baseline."""
