"""Hand dask arrays given to the NumPy-level functions to ``fastnn.dask``.

Checked only after the small-array fast paths, and without importing dask:
an object can only be a dask array once ``dask.array`` has been imported.
"""

import sys


def lazy_module(*arrays):
    """``fastnn.dask`` when any of ``arrays`` is a dask array, else None."""
    array_module = sys.modules.get("dask.array")
    if array_module is None:
        return None
    dask_array = array_module.Array
    for a in arrays:
        if isinstance(a, dask_array):
            from . import dask as fastnn_dask

            return fastnn_dask
    return None
