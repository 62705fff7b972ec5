"""Checks on an uploaded XLSX before openpyxl opens it.

An XLSX is a zip: a few hundred kilobytes can declare gigabytes of `sharedStrings.xml`,
which openpyxl loads whole. The members' declared sizes are checked first (zipfile then
refuses to inflate a member past its declared size: the CRC check fails), as is each
member's compression ratio. openpyxl parses the XML with defusedxml (installed with this
service), so entity expansion is refused as well.
"""

from __future__ import annotations

import io
import zipfile
from typing import Final

from hub_shared.web.errors import BadRequest, PayloadTooLarge

MiB: Final = 1024 * 1024
MAX_MEMBERS: Final = 1000
MAX_MEMBER_BYTES: Final = 256 * MiB  # one worksheet of 500,000 rows is about 60 MiB
MAX_TOTAL_BYTES: Final = 512 * MiB
MAX_RATIO: Final = 100  # XML compresses 5-20 times; a bomb a thousand times and more
RATIO_FROM_BYTES: Final = 1 * MiB  # tiny members may compress oddly well, harmlessly


def check_xlsx_archive(body: bytes) -> None:
    """413 problem+json naming the member when the workbook would inflate too far."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise BadRequest(f"the body is not a readable XLSX workbook: {exc}") from exc
    if len(members) > MAX_MEMBERS:
        raise PayloadTooLarge(f"the workbook holds {len(members)} parts; at most {MAX_MEMBERS}")
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > MAX_MEMBER_BYTES:
            raise PayloadTooLarge(
                f"workbook part {member.filename} inflates to {member.file_size:,} bytes; "
                f"at most {MAX_MEMBER_BYTES:,}"
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > RATIO_FROM_BYTES and ratio > MAX_RATIO:
            raise PayloadTooLarge(
                f"workbook part {member.filename} inflates {ratio:,.0f} times; at most {MAX_RATIO}"
            )
    if total > MAX_TOTAL_BYTES:
        raise PayloadTooLarge(
            f"the workbook inflates to {total:,} bytes; at most {MAX_TOTAL_BYTES:,}"
        )
