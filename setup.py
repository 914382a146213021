"""Build the Cython im2col extension (helpers/im2col_cython.pyx).

setuptools compiles it during `pip install`; no binaries are committed. Written for
Cython 3 (language_level=3, `//` for integer division) and NumPy 2.
"""

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

extensions = [
    Extension(
        "helpers.im2col_cython",
        ["helpers/im2col_cython.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3"],
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}))
