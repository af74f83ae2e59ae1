"""The embedded local SageMaker engine.

A service in its own process on 127.0.0.1 that speaks the real AWS wire APIs:
SageMaker and SageMaker Runtime are served here, S3 / STS / IAM / CloudWatch
Logs by moto in the same process. Nothing in this package imports the magics;
clients (the magics, the CLI, user code) reach it over HTTP like any AWS
endpoint. The client side's ``sm_magics.launcher`` starts, stops and describes
the engine process; ``sm_magics.constants`` holds what both sides agree on.
"""
