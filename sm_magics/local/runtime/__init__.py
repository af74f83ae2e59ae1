"""SageMaker Runtime: models loaded behind endpoints (hosting.py), InvokeEndpoint (responses.py)."""
