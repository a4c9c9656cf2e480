"""One module of steps per pipeline, named like its flow (``flows/X.py``) and tasks (``tasks/X.py``).

Each module composes the domain packages (features/, models/, geophysics/, seismic/, lithology/,
tectonics/) and io/ into the steps a flow wires; none of them imports Prefect.
"""
