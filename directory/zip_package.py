"""The ``zipcodes`` package's table as COPY text, on stdout: ``python -m directory.zip_package``.

Loading the package costs a process about 140 MB that it keeps (measured: its 42,789 dicts, once
freed, are not given back) and over a second, so no long-lived process imports it: migration
0015 and :func:`directory.geo.offline_zips` read this program's output instead. Imports nothing
else, to start quickly.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

NULL = "\\N"  # COPY's text format
FORMAT = 2  # of these lines: copies kept elsewhere name it, and are read again when it changes


def lines() -> Iterator[str]:
    """zip5, state, time zone, latitude, longitude: one line per ZIP that has a centre."""
    import zipcodes

    for entry in zipcodes.list_all():  # type: ignore[no-untyped-call]
        try:
            lat, lng = float(entry["lat"]), float(entry["long"])
            zip5, state = entry["zip_code"], entry["state"]
        except (KeyError, TypeError, ValueError):
            continue
        if lat == lng == 0:  # 872 ZIPs (APO/FPO, some unique ZIPs) have no centre: not 0°N 0°E
            continue
        zone = entry.get("timezone") or NULL
        yield f"{zip5}\t{state}\t{zone}\t{lat!r}\t{lng!r}\n"


if __name__ == "__main__":
    sys.stdout.writelines(lines())
