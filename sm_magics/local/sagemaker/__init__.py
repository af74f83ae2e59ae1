"""SageMaker's control plane: state and lifecycles (models.py), wire (responses.py)."""
