"""Developer tools run from a checkout (benchmarks, the replica demo, tone generator).

Not part of the installed product: the wheel ships controlroom, ui and maps only.
"""
