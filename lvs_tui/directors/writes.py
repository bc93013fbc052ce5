"""The agent's writes: a change to one real server as a request (what a RemoteBackend sends), and
that request made into a change on the agent's own table (which the agent journals there, as every
change is journaled, before it is made).

Only the real server writes that maintenance needs cross the link (a weight, a removal and the
re-add that undoes it): services are changed on their own director.
"""

from __future__ import annotations

from collections.abc import Callable

from lvs_tui.ipvs.backend import DestConfig, DestEdit
from lvs_tui.ipvs.errors import InvalidArgument, IpvsError
from lvs_tui.model.export import FormError, JsonObject, tunnel_json, tunnel_of_json
from lvs_tui.model.inputs import InputError
from lvs_tui.model.records import DestKey, Forward, Service, ServiceKey, parse_host_port
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Change

EDIT_FIELDS = ("forward", "tunnel", "weight", "upper_threshold", "lower_threshold")


class WriteRequestError(IpvsError):
    """A write request that does not name a change; the message says what is wrong with it."""


# --- the client's side ---------------------------------------------------------------------------

def edit_request(service: ServiceKey, dest: DestKey, edit: DestEdit) -> JsonObject:
    fields: JsonObject = {"forward": None if edit.forward is None else edit.forward.value,
                          "tunnel": tunnel_json(edit.tunnel), "weight": edit.weight,
                          "upper_threshold": edit.upper_threshold, "lower_threshold": edit.lower_threshold}
    return {"op": "edit_dest", "service": service.id, "dest": dest.id,
            "edit": {name: value for name, value in fields.items() if value is not None}}


def add_request(service: ServiceKey, config: DestConfig) -> JsonObject:
    return {"op": "add_dest", "service": service.id, "config": config.json()}


def delete_request(service: ServiceKey, dest: DestKey) -> JsonObject:
    return {"op": "delete_dest", "service": service.id, "dest": dest.id}


# --- the agent's side ----------------------------------------------------------------------------

def change_of(request: JsonObject, service_of: Callable[[ServiceKey], Service | None]) -> Change:
    """The change `request` asks for, built on the agent's table (`service_of` reads one service
    as it is now): WriteRequestError for a request that is not a change, InvalidArgument (naming
    the object) for one the table or the kernel's limits refuse."""
    op = request.get("op")
    try:
        key = ServiceKey.parse(_text(request, "service"))
        if op == "add_dest":
            return changes.add_dest(key, _config(_object(request, "config")))
        service = service_of(key)
        if service is None:
            raise InvalidArgument(f"service {key} is not in this director's table.")
        dest_key = DestKey(*parse_host_port(_text(request, "dest")))
        dest = service.dest(dest_key)
        if dest is None:
            raise InvalidArgument(f"real server {dest_key} is not in service {key} on this director.")
        if op == "delete_dest":
            return changes.delete_dest(key, dest)
        if op == "edit_dest":
            return changes.edit_dest(key, dest, _edit(_object(request, "edit")))
    except (FormError, InputError, KeyError, TypeError, ValueError) as error:
        raise WriteRequestError(f"the {op} request cannot be read ({error})") from None
    raise WriteRequestError(f"{op!r} is not a write")


def _edit(fields: JsonObject) -> DestEdit:
    unknown = sorted(set(fields) - set(EDIT_FIELDS))
    if unknown:
        raise ValueError(f"no field {unknown[0]!r} in a real server's settings")
    forward = fields.get("forward")
    return DestEdit(None if forward is None else Forward(forward), tunnel_of_json(fields.get("tunnel")),
                    _number(fields.get("weight")), _number(fields.get("upper_threshold")),
                    _number(fields.get("lower_threshold")))


def _config(fields: JsonObject) -> DestConfig:
    address, port = parse_host_port(_text(fields, "dest"))
    return DestConfig(address, port, Forward(fields["forward"]), tunnel_of_json(fields.get("tunnel")),
                      _whole(fields, "weight"), _whole(fields, "upper_threshold"),
                      _whole(fields, "lower_threshold"))


def _text(fields: JsonObject, name: str) -> str:
    value = fields[name]
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return value


def _object(fields: JsonObject, name: str) -> JsonObject:
    value = fields[name]
    if not isinstance(value, dict):
        raise ValueError(f"{name} is not an object")
    return value


def _whole(fields: JsonObject, name: str) -> int:
    value = _number(fields[name])
    if value is None:
        raise ValueError(f"{name} is missing")
    return value


def _number(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    return value  # its range is the change builders' to check, with their sentences
