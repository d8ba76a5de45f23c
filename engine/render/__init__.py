"""OpenGL rendering: generated frames as textures, shader passes, overlays, headless contexts."""
