"""One restricted unpickler for the dataset files that are pickles (CIFAR-10 batches, the label map
of the ImageNet sample): it builds dicts, lists, strings, numbers and NumPy arrays, and refuses
every other global, so a tampered file cannot run code."""

import pickle

# What pickles of NumPy arrays, lists, dicts and numbers need, with protocols 2 to 5.
ALLOWED_GLOBALS = frozenset({
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
    ("builtins", "bytes"),
    ("__builtin__", "bytes"),  # protocol 2 names builtins as Python 2 did
    ("builtins", "bytearray"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler that only builds arrays, containers and numbers; `what` names the file's kind
    in the error, e.g. "a CIFAR-10 batch"."""

    def __init__(self, file, what="a dataset file", **kwargs):
        super().__init__(file, **kwargs)
        self.what = what

    def find_class(self, module, name):
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: not part of {self.what}")
