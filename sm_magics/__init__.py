"""sm_magics: Amazon SageMaker in one notebook cell, with the cost in plain sight.

The package is import-light on purpose: nothing here imports the SageMaker SDK,
boto3 or the local engine, so ``%load_ext sm_magics`` stays fast.
"""

__version__ = "0.1.0"
