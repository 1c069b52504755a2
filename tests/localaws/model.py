# SPDX-License-Identifier: Apache-2.0
"""Validate requests against botocore's service models.

The checks AWS makes before an operation runs: required members present,
no unknown members, JSON types, string/blob/list lengths, number ranges,
enums and patterns.  Messages follow AWS's "1 validation error detected:
Value 'x' at 'memberName' failed to satisfy constraint: ..." form; values of
sensitive members and blobs are never echoed.
"""
import base64
import binascii
import os
import re
import threading
import xml.etree.ElementTree as ET

from botocore.loaders import Loader
from botocore.model import ServiceModel

from errors import AwsError, validation

# models/ holds service models newer than Debian's botocore (SQS in JSON 1.0): searched first.
_loader = Loader(extra_search_paths=[os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "models")])
_models = {}
_models_lock = threading.Lock()
_patterns = {}

# Java regex classes that Python's re lacks; approximations documented in README.
_PCLASS = {r"\p{Z}": r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"}


# Members that newer AWS models have and AWS accepts, but Debian's botocore
# 1.29.27 does not know yet: accepted (not validated) rather than refused.
NEWER_MEMBERS = {
    ("secretsmanager", "ListSecretsRequest"): {"IncludePlannedDeletion", "SortBy"},
    ("acm", "Filters"): {"exportOption", "managedBy"},
}


def service_model(name):
    with _models_lock:
        m = _models.get(name)
        if m is None:
            m = ServiceModel(_loader.load_service_model(name, "service-2"), name)
            _models[name] = m
        return m


def _compile(pattern):
    rx = _patterns.get(pattern)
    if rx is None:
        if r"\p{" in pattern:
            # Inside a character class a letter class cannot be negated, so use
            # \w (letters, digits, _) there: every such model class also allows
            # digits and '_'.
            py = pattern.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\d")
            py = py.replace(r"\p{Z}", _PCLASS[r"\p{Z}"])
            rx = re.compile(py)
        else:
            rx = re.compile(pattern, re.ASCII)
        _patterns[pattern] = rx
    return rx


def _lc(name):
    return name[:1].lower() + name[1:]


def _show(shape, value):
    if shape.serialization.get("sensitive") or shape.metadata.get("sensitive") \
            or shape.type_name == "blob":
        return "'***'" if value is not None else "null"
    if isinstance(value, str):
        return "'%s'" % value
    if isinstance(value, bool):
        return "'%s'" % str(value).lower()
    if isinstance(value, list):
        return "'[%s]'" % ", ".join(str(v) for v in value)
    return "'%s'" % (value,)


class Validator:
    """Collects constraint violations (AWS reports several at once)."""

    def __init__(self, service, query=False):
        self.service = service
        self.errors = []
        self.serialization = None
        self.query = query

    def fail(self, shape, value, path, what):
        self.errors.append("Value %s at '%s' failed to satisfy constraint: Member must %s"
                           % (_show(shape, value), path, what))

    def check(self, shape, value, path):
        t = shape.type_name
        if t == "structure":
            self._structure(shape, value, path)
        elif t == "list":
            self._list(shape, value, path)
        elif t == "map":
            self._map(shape, value, path)
        elif t == "string":
            self._string(shape, value, path)
        elif t in ("integer", "long"):
            self._number(shape, value, path, integral=True)
        elif t in ("double", "float"):
            self._number(shape, value, path, integral=False)
        elif t == "boolean":
            if not isinstance(value, bool):
                self._type(path, "boolean")
        elif t == "blob":
            self._blob(shape, value, path)
        elif t == "timestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                self._type(path, "timestamp")

    def _type(self, path, expected):
        if self.serialization is None:
            self.serialization = "Member '%s' is not a valid %s" % (path, expected)

    def _structure(self, shape, value, path):
        if not isinstance(value, dict):
            self._type(path or "input", "structure")
            return
        members = shape.members
        for name in shape.required_members:
            if value.get(name) is None:
                p = (path + "." if path else "") + _lc(name)
                self.errors.append("Value null at '%s' failed to satisfy constraint: "
                                   "Member must not be null" % p)
        for name, v in value.items():
            p = (path + "." if path else "") + _lc(name)
            if name not in members:
                if name in NEWER_MEMBERS.get((self.service, shape.name), ()):
                    continue
                self.errors.append("Value at '%s' failed to satisfy constraint: Member is "
                                   "not defined in the input of this operation (unknown "
                                   "member '%s')" % (p, name))
                continue
            if v is None:
                continue
            self.check(members[name], v, p)

    def _length(self, shape, value, n, path):
        lo = shape.metadata.get("min")
        hi = shape.metadata.get("max")
        if lo is not None and n < lo:
            self.fail(shape, value, path, "have length greater than or equal to %d" % lo)
            return False
        if hi is not None and n > hi:
            self.fail(shape, value, path, "have length less than or equal to %d" % hi)
            return False
        return True

    def _list(self, shape, value, path):
        if not isinstance(value, list):
            self._type(path, "list")
            return
        if self._length(shape, value, len(value), path):
            for i, item in enumerate(value, 1):
                if item is None:
                    self.errors.append("Value null at '%s.%d.member' failed to satisfy "
                                       "constraint: Member must not be null" % (path, i))
                    continue
                self.check(shape.member, item, "%s.%d.member" % (path, i))

    def _map(self, shape, value, path):
        if not isinstance(value, dict):
            self._type(path, "map")
            return
        if self._length(shape, value, len(value), path):
            for k, v in value.items():
                self.check(shape.key, k, "%s.%s.key" % (path, k))
                self.check(shape.value, v, "%s.%s.value" % (path, k))

    def _string(self, shape, value, path):
        if not isinstance(value, str):
            self._type(path, "string")
            return
        if not self._length(shape, value, len(value), path):
            return
        if shape.enum and value not in shape.enum:
            self.fail(shape, value, path, "satisfy enum value set: [%s]" % ", ".join(shape.enum))
            return
        pat = shape.metadata.get("pattern")
        if pat is not None and not _compile(pat).fullmatch(value):
            self.fail(shape, value, path, "satisfy regular expression pattern: %s" % pat)

    def _number(self, shape, value, path, integral):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (integral and isinstance(value, float) and not value.is_integer()):
            self._type(path, "integer" if integral else "number")
            return
        lo = shape.metadata.get("min")
        hi = shape.metadata.get("max")
        if lo is not None and value < lo:
            self.fail(shape, value, path, "have value greater than or equal to %s" % lo)
        elif hi is not None and value > hi:
            self.fail(shape, value, path, "have value less than or equal to %s" % hi)

    def _blob(self, shape, value, path):
        if self.query:
            raw = value.encode() if isinstance(value, str) else value
        else:
            if not isinstance(value, str):
                self._type(path, "blob")
                return
            try:
                raw = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                self._type(path, "base64-encoded blob")
                return
        self._length(shape, value, len(raw), path)


def validate(service, operation, params, query=False):
    """Raise the AWS error for params that do not satisfy the operation's input."""
    op = service_model(service).operation_model(operation)
    shape = op.input_shape
    v = Validator(service, query)
    if shape is None:
        if params:
            raise AwsError("ValidationError" if query else "ValidationException",
                           validation("operation %s takes no input" % operation))
        return
    v.check(shape, params, "")
    if v.serialization and not query:
        raise AwsError("SerializationException", v.serialization)
    if v.serialization:
        v.errors.insert(0, v.serialization)
    if v.errors:
        raise AwsError("ValidationError" if query else "ValidationException",
                       validation(v.errors))


def blob(params, name):
    """Decoded bytes of a (validated) JSON blob member, or None."""
    value = params.get(name)
    if value is None:
        return None
    return base64.b64decode(value)


# -- awsQuery (STS) ------------------------------------------------------------------

def parse_query(service, operation, form):
    """Turn Action=..&A.member.1=..&S.Sub=.. into a dict shaped like the model.

    form: dict name -> value (last value wins, as AWS does).  Unknown names and
    values that do not convert raise ValidationError.
    """
    op = service_model(service).operation_model(operation)
    shape = op.input_shape
    out = {}
    errors = []
    if shape is None:
        return out
    for key, value in form.items():
        if key in ("Action", "Version"):
            continue
        try:
            _assign(shape, out, key.split("."), value, key)
        except ValueError as exc:
            errors.append(str(exc))
    if errors:
        raise AwsError("ValidationError", validation(errors))
    return _finish(shape, out)


def _convert(shape, value, key):
    t = shape.type_name
    if t in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            raise ValueError("Value '%s' at '%s' failed to satisfy constraint: Member must "
                             "be an integer" % (value, key))
    if t == "boolean":
        if value not in ("true", "false"):
            raise ValueError("Value '%s' at '%s' failed to satisfy constraint: Member must "
                             "be a boolean" % (value, key))
        return value == "true"
    return value


def _assign(shape, out, parts, value, key):
    name = parts[0]
    if name not in shape.members:
        raise ValueError("Value at '%s' failed to satisfy constraint: Member is not defined "
                         "in the input of this operation (unknown parameter '%s')" % (key, key))
    mshape = shape.members[name]
    rest = parts[1:]
    t = mshape.type_name
    if t == "structure":
        if not rest:
            raise ValueError("Value '%s' at '%s' failed to satisfy constraint: Member must "
                             "be a structure" % (value, key))
        _assign(mshape, out.setdefault(name, {}), rest, value, key)
    elif t == "list":
        if len(rest) < 2 or rest[0] != "member" or not rest[1].isdigit():
            if rest == [] and value == "":
                out[name] = {}
                return
            raise ValueError("Value at '%s' failed to satisfy constraint: Member is a list, "
                             "use %s.member.N" % (key, name))
        slot = out.setdefault(name, {})
        idx = int(rest[1])
        if mshape.member.type_name == "structure":
            _assign(mshape.member, slot.setdefault(idx, {}), rest[2:], value, key)
        else:
            if len(rest) != 2:
                raise ValueError("Value at '%s' failed to satisfy constraint: Member is "
                                 "not defined" % key)
            slot[idx] = _convert(mshape.member, value, key)
    else:
        if rest:
            raise ValueError("Value at '%s' failed to satisfy constraint: Member is not "
                             "defined in the input of this operation" % key)
        out[name] = _convert(mshape, value, key)


def _finish(shape, out):
    """Lists were collected as {index: item}; order them."""
    for name, value in list(out.items()):
        mshape = shape.members[name]
        if mshape.type_name == "list":
            items = [value[i] for i in sorted(value)]
            if mshape.member.type_name == "structure":
                items = [_finish(mshape.member, it) for it in items]
            out[name] = items
        elif mshape.type_name == "structure":
            out[name] = _finish(mshape, value)
    return out


# -- restXml (Route 53) ---------------------------------------------------------------

def rest_xml_route(service, method, path):
    """(operation name, {uri member: value}) for method + path, or (None, None)."""
    from urllib.parse import unquote
    smodel = service_model(service)
    for name in smodel.operation_names:
        op = smodel.operation_model(name)
        if op.http.get("method") != method:
            continue
        uri = op.http["requestUri"].split("?")[0]
        rx = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(uri)) + "$"
        m = re.match(rx, path)
        if m:
            return name, {k: unquote(v) for k, v in m.groupdict().items()}
    return None, None


def _xml_value(shape, el):
    t = shape.type_name
    if t == "structure":
        out = {}
        for child in el:
            tag = child.tag.split("}")[-1]
            for mname, mshape in shape.members.items():
                if mshape.serialization.get("name", mname) == tag:
                    out[mname] = _xml_value(mshape, child)
                    break
            else:
                raise AwsError("InvalidInput", "unknown element %s" % tag)
        return out
    if t == "list":
        return [_xml_value(shape.member, child) for child in el]
    text = el.text or ""
    if t in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise AwsError("InvalidInput", "%s is not an integer" % el.tag.split("}")[-1])
    if t == "boolean":
        return text == "true"
    return text


def parse_rest_xml(service, operation, uri_params, query, body):
    """The input of a restXml call as a dict shaped like the model (then validate())."""
    op = service_model(service).operation_model(operation)
    shape = op.input_shape
    out = {}
    if shape is None:
        return out
    for mname, mshape in shape.members.items():
        loc = mshape.serialization.get("location")
        key = mshape.serialization.get("name", mname)
        if loc == "uri" and key in uri_params:
            out[mname] = uri_params[key]
        elif loc == "querystring" and key in query:
            out[mname] = _xml_value(mshape, _Text(query[key]))
    if body.strip():
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise AwsError("InvalidInput", "malformed XML: %s" % exc)
        want = op.input_shape.serialization.get("name", shape.name)
        if root.tag.split("}")[-1] != want:
            raise AwsError("InvalidInput", "expected a <%s> body" % want)
        out.update(_xml_value(shape, root))
    return out


class _Text:
    """A query-string value dressed as an element for _xml_value."""

    def __init__(self, text):
        self.text = text
        self.tag = "query"
