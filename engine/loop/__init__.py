"""The one frame loop (live: paced by the display or the clock; offline and replay: exact), with
its clock, pacer, run-ahead worker, compositor, show state and command intake."""
