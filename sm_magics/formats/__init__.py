"""Binary formats spoken by SageMaker's built-in algorithms, in pure Python + numpy.

* :mod:`sm_magics.formats.recordio` -- ``application/x-recordio-protobuf`` (training
  channels and inference requests/responses), without a protobuf dependency.
* :mod:`sm_magics.formats.ndarray` -- MXNet NDArray list/dict files (``model_algo-1``
  inside k-means / PCA ``model.tar.gz``), without mxnet.
"""
