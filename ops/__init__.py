"""Operations: the local Prefect dashboard (``python -m ops.dashboard``)."""
