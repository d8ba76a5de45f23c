"""Where shown frames go: the display, recordings, snapshots, the stats panel, OSC feedback, progress."""
