"""A curator's tools: see the faces a show will show before the gallery does, and keep some out."""
