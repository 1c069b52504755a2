# SPDX-License-Identifier: Apache-2.0
"""Small helpers shared by service modules."""


def x(s):
    """XML-escape text content."""
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
