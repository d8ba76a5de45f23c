"""A render farm on Dask: one long render split by frame range over the machines of a studio.

Every frame is a pure function of the show, its time and the commands before it, so a chunk of
frames renders anywhere the same model is installed, and the chunks joined are the render.
Scheduling, retries and dead workers are Dask's job (the ``distributed`` package, the optional
``vernissage[farm]`` extra); this package only cuts the work, ships it and joins what comes back.
"""
