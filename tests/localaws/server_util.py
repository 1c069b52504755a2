# SPDX-License-Identifier: Apache-2.0
"""Small helpers shared by service modules."""


def x(s):
    """XML-escape text content."""
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def partition(region):
    """The ARN partition of a region: aws, aws-cn or aws-us-gov."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
