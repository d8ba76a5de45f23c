"""The live player: show time from presented frames, run-ahead generation, pacing, recording."""
