"""Audio: one causal analysis of sound into per-frame features, fed by a file or a sound card.

``analysis`` turns samples into features (level, onsets, three bands, tempo and beat phase)
using only the samples up to each moment, so a live performance and an offline render of the
same samples see the same features. ``sources`` reads samples: a file through PyAV, a sound
card through PortAudio (``sounddevice``). ``reactivity`` turns features into how fast the
show moves. Nothing here touches GL or the show: engine.inputs.audio makes commands of it.
"""
