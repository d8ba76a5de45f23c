"""Ableton Link: a second session on this machine sets the tempo; the show hears it and its beats."""

from __future__ import annotations

import time

import pytest

from engine.commands import Beat, SetTempo

link = pytest.importorskip("link", reason='Ableton Link is an optional extra (GPL): pip install "vernissage[link]"')


def test_the_show_follows_a_peers_tempo_and_beats():
    from engine.inputs.link import LinkInput

    peer = link.Link(133.0)
    peer.enabled = True
    heard = LinkInput(120.0)
    try:
        began = time.monotonic()
        while heard.peers == 0 and time.monotonic() - began < 10:
            time.sleep(0.05)
        assert heard.peers == 1, "the two sessions did not find each other"
        state = peer.captureAppSessionState()
        state.setTempo(133.0, peer.clock().micros())
        peer.commitAppSessionState(state)
        commands: list[tuple[float, object]] = []
        began = time.monotonic()
        while time.monotonic() - began < 3.0:
            commands += [(time.monotonic(), c) for c in heard.commands(0)]
            time.sleep(0.005)
    finally:
        heard.close()
        peer.enabled = False
    tempos = [c.bpm for _, c in commands if isinstance(c, SetTempo)]
    assert tempos and tempos[-1] == pytest.approx(133.0, abs=0.05)
    beats = [t for t, c in commands if isinstance(c, Beat)]
    assert 4 <= len(beats) <= 8  # about 6.6 beats in 3 s at 133 BPM
    gaps = [b - a for a, b in zip(beats, beats[1:])]
    assert all(abs(g - 60 / 133) < 0.05 for g in gaps[1:])  # on the peer's beat (after the tempo settles)


def test_a_beat_over_osc_sets_the_grids_phase_and_keeps_the_tempo():
    from engine.inputs.addresses import check

    assert check("/vernissage/tempo/beat", []) == Beat()
    assert check("/vernissage/tempo/beat", [0]) is None  # a button's release
