"""MIDI in: real MIDI bytes, parsed by mido as a port would, become the same commands as OSC."""

from __future__ import annotations

import logging
import os
import textwrap
from pathlib import Path

import pytest

from engine.commands import GoToCue, SetFader, SetTempo
from engine.inputs.bindings import BindingError, load_bindings
from engine.inputs.midi import MidiError, MidiInput, input_names

BINDINGS = """
[[binding]]
address = "midi/cc/1/7"
target = "/vernissage/render/brightness"

[[binding]]
address = "midi/cc14/2/1"
target = "/vernissage/latent/truncation"

[[binding]]
address = "midi/note/10/36"
target = "/vernissage/render/fade"
"""


def _midi(tmp_path: Path, body: str = BINDINGS, learn: bool = False, now=None) -> MidiInput:
    path = tmp_path / "show.toml"
    path.write_text(textwrap.dedent(body).lstrip() + '[[cue]]\nkind = "wander"\n')
    clock = now or (lambda: 0.0)
    return MidiInput(load_bindings(path), learn, now=clock)


def test_a_control_change_moves_its_bound_fader(tmp_path):
    midi = _midi(tmp_path)
    midi.feed(bytes([0xB0, 7, 127, 0xB0, 7, 0, 0xB0, 8, 64, 0xB1, 7, 64]))  # cc 7 on channel 1; cc 8; channel 2
    assert midi.commands(0) == [SetFader("/vernissage/render/brightness", 1.0),
                                SetFader("/vernissage/render/brightness", 0.0)]


def test_a_14_bit_control_is_finer_than_128_steps(tmp_path):
    midi = _midi(tmp_path)
    midi.feed(bytes([0xB1, 1, 64, 0xB1, 33, 1]))  # channel 2: high 7 bits of cc 1, then low 7 bits (cc 33)
    coarse, fine = midi.commands(0)
    assert coarse.fader == fine.fader == "/vernissage/latent/truncation"
    assert fine.value == pytest.approx((64 * 128 + 1) / 16383) and fine.value != coarse.value


def test_pads_hold_their_velocity_and_let_go_to_zero(tmp_path):
    midi = _midi(tmp_path)
    midi.feed(bytes([0x99, 36, 100, 0x89, 36, 0, 0x99, 36, 127, 0x99, 36, 0]))  # on, off, on, on with velocity 0
    values = [c.value for c in midi.commands(0)]
    assert values == [pytest.approx(100 / 127), 0.0, 1.0, 0.0]


def test_a_program_change_goes_to_that_cue_and_running_status_is_understood(tmp_path):
    midi = _midi(tmp_path)
    midi.feed(bytes([0xC0, 3, 0xB0, 7, 10, 20]))  # program 3, then cc 7 = 10 and (running status) cc 20 = ...
    commands = midi.commands(0)
    assert commands[0] == GoToCue(3) and commands[1] == SetFader("/vernissage/render/brightness", 10 / 127)


def test_midi_clock_at_120_bpm_sets_the_tempo_once(tmp_path):
    times = iter(i * 0.5 / 24 for i in range(1000))  # 24 pulses a beat, a beat every half second
    midi = _midi(tmp_path, now=lambda: next(times))
    midi.feed(bytes([0xFA]) + bytes([0xF8]) * 200)
    assert midi.commands(0) == [SetTempo(120.0)]  # measured, then not sent again while it holds


def test_hostile_bytes_never_raise(tmp_path):
    import random

    midi = _midi(tmp_path)
    rng = random.Random(3)
    for _ in range(200):
        midi.feed(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64))))
        midi.commands(0)
    midi.feed(bytes([0xF0]) + bytes(100_000) + bytes([0xF7]))  # a huge sysex
    midi.feed(bytes([0xB0, 7]))  # cut short
    assert isinstance(midi.commands(0), list)


def test_learn_names_each_unbound_control_once_with_its_binding_line(tmp_path, caplog):
    midi = _midi(tmp_path, learn=True)
    with caplog.at_level(logging.WARNING):
        midi.feed(bytes([0xB3, 21, 5, 0xB3, 21, 6, 0x93, 40, 9]))
        midi.commands(0)
    lines = [r.getMessage() for r in caplog.records if "MIDI learn" in r.getMessage()]
    assert lines == ['MIDI learn: midi/cc/4/21 -> bind it with [[binding]] address = "midi/cc/4/21" '
                     'target = "/vernissage/..."',
                     'MIDI learn: midi/note/4/40 -> bind it with [[binding]] address = "midi/note/4/40" '
                     'target = "/vernissage/..."']


@pytest.mark.parametrize("address", ["midi/cc/0/7", "midi/cc/17/7", "midi/cc/1/128", "midi/cc14/1/32",
                                     "midi/note/1/-1", "midi/pitch/1/0", "midi/cc/1", "midi/cc/1/7/8"])
def test_bad_midi_addresses_are_refused_at_their_line(tmp_path, address):
    with pytest.raises(BindingError, match=r"show.toml:2: .* is not a MIDI control"):
        _midi(tmp_path, f'[[binding]]\naddress = "{address}"\ntarget = "/vernissage/render/fade"\n')


@pytest.mark.skipif(not os.path.exists("/dev/snd/seq"),
                    reason="no ALSA sequencer (/dev/snd/seq) on this machine: no MIDI port can exist")
def test_a_port_is_listed_and_opened():  # pragma: no cover - runs where there is a MIDI system
    assert input_names()
    MidiInput().open(None)


def test_no_port_is_one_line():
    if input_names():
        pytest.skip("this machine has MIDI ports")
    with pytest.raises(MidiError, match="no MIDI input ports on this machine"):
        MidiInput().open(None)
