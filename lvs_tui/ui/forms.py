"""Forms to add and edit services and real servers, validated as you type.

Each keystroke rebuilds the plan with the same builders (and so the same validation) that apply
it: the form shows either the ipvsadm command it will run or the one sentence that says what is
wrong, and "Apply" is enabled only in the first case. "Apply" hands the plan to `submit` (the
operator confirms and applies it); the form stays open until the plan is applied, and an error the
kernel reports is shown in the form, with everything typed still there.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from lvs_tui.ipvs import validate
from lvs_tui.ipvs.backend import DestConfig, DestEdit, ServiceConfig, ServiceEdit
from lvs_tui.ipvs.errors import InvalidArgument
from lvs_tui.model import flags as service_flags
from lvs_tui.model import inputs
from lvs_tui.model.printable import printable
from lvs_tui.model.records import (
    FLAG_ONEPACKET,
    FLAG_PERSISTENT,
    Dest,
    Family,
    Forward,
    Protocol,
    Service,
    ServiceKey,
    Tunnel,
    TunnelType,
)
from lvs_tui.ops import changes
from lvs_tui.ops.changes import Plan
from lvs_tui.ops.sysctl import Sysctls

FORWARDS = [("NAT (masquerading)", Forward.MASQ), ("DR (direct routing)", Forward.ROUTE),
            ("TUN (IP-in-IP and other tunnels)", Forward.TUNNEL)]
CHECKSUMS = [("no checksum option", ""), ("nocsum", "nocsum"), ("csum", "csum"), ("remcsum", "remcsum")]
SCHED_FLAG_BOXES = 3  # SCHED1..3: labelled per scheduler, hidden where it has no meaning


def whole(label: str, text: str, default: int | None = None, high: int = inputs.INT_MAX, low: int = 0) -> int:
    """An integer field's value, parsed as every reader of lvs-top parses one (model.inputs); an
    empty field takes `default` when there is one."""
    if not text.strip():
        if default is None:
            raise InvalidArgument(f"enter the {label}.")
        return default
    try:
        return inputs.whole(text, f"the {label}", low, high)
    except inputs.InputError as error:
        raise InvalidArgument(f"{error}.") from None


def address(what: str, text: str) -> str:
    """An address field in the one form the kernel reports it in (brackets allowed, no scope)."""
    value = text.strip().strip("[]")
    if not value:
        raise InvalidArgument(f"enter the {what} (e.g. 192.0.2.10 or 2001:db8::10).")
    try:
        return inputs.address(value, f"the {what}")
    except inputs.InputError as error:
        raise InvalidArgument(f"{error}.") from None


class FormScreen(ModalScreen[None]):
    """A form whose fields make one plan; subclasses compose the fields and build the plan."""

    BINDINGS = [
        Binding("ctrl+s", "apply", "Apply", tooltip="Apply the form (when it is valid)"),
        Binding("escape", "cancel", "Cancel", tooltip="Close the form, changing nothing"),
    ]
    TITLE_TEXT = ""

    def __init__(self) -> None:
        super().__init__()
        self._plan: Plan | None = None
        self.submit: Callable[[Plan], None] = lambda plan: None  # set by whoever opens the form
        self.pending: Plan | None = None  # submitted, its outcome not known yet

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Static(Text(self.TITLE_TEXT, style="bold"), id="form-title")
            with VerticalScroll(id="form-fields"):
                yield from self.fields()
            yield Static(id="form-result")
            with Horizontal(id="form-buttons"):
                yield Button("Apply (ctrl+s)", id="apply", variant="primary", disabled=True)
                yield Button("Cancel (Esc)", id="cancel")

    def fields(self) -> ComposeResult:
        raise NotImplementedError

    def build(self) -> Plan:
        raise NotImplementedError

    def on_mount(self) -> None:
        self.arrange_fields()
        self.revalidate()
        # Start typing in the first field that can change (the key fields are fixed when editing).
        adding = self.query("#address") and not self.query_one("#address", Input).disabled
        fields = self.query("#form-fields Input" if adding else "#form-fields Input, #form-fields Select")
        first = next((field for field in fields if not field.disabled), None)
        if first is not None:
            first.focus()

    def arrange_fields(self) -> None:
        """Show the fields the current choices make relevant."""

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self.arrange_fields()
        self.revalidate()

    def revalidate(self) -> None:
        result = self.query_one("#form-result", Static)
        try:
            self._plan = self.build()
        except (InvalidArgument, ValueError) as error:
            self._plan = None
            result.update(Text(f"✖ {printable(str(error))}", style="red"))
            result.add_class("invalid")
        else:
            commands = "\n".join(change.command.display for change in self._plan.changes)
            result.update(Text(commands or "no change", style="green" if commands else "dim"))
            result.remove_class("invalid")
        self.query_one("#apply", Button).disabled = self._plan is None or not self._plan.changes

    @on(Input.Submitted)
    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        if self._plan is not None and self._plan.changes and self.pending is None:
            self.pending = self._plan
            self.submit(self._plan)

    def declined(self) -> None:
        """The confirmation was cancelled: the form is as it was."""
        self.pending = None

    def failed(self, error: str) -> None:
        """The kernel refused the plan: say why here, keep what was typed."""
        self.pending = None
        result = self.query_one("#form-result", Static)
        result.update(Text(f"✖ {printable(error)}", style="red"))
        result.add_class("invalid")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def value(self, selector: str) -> str:
        return self.query_one(selector, Input).value

    def choice(self, selector: str) -> object:
        return self.query_one(selector, Select).value

    def show(self, selector: str, visible: bool) -> None:
        for widget in self.query(selector):
            widget.display = visible


def labelled(label: str, widget: Input | Select[object] | Checkbox, row_id: str | None = None) -> Horizontal:
    widget.compact = True
    return Horizontal(Label(label, classes="form-label"), widget, classes="form-row", id=row_id)


class ServiceForm(FormScreen):
    """Add a virtual service, or edit one (its key fields are then fixed)."""

    def __init__(self, schedulers: tuple[str, ...], service: Service | None = None,
                 existing: Callable[[], Collection[ServiceKey]] = tuple) -> None:
        self.service = service
        self.existing = existing  # the services on screen now: a duplicate is refused as typed
        self.schedulers = schedulers or ("rr", "wrr", "lc", "wlc", "sh", "mh")
        self.TITLE_TEXT = f"Edit service {service.key}" if service else "Add a virtual service"
        super().__init__()

    def fields(self) -> ComposeResult:
        svc = self.service
        key = svc.key if svc else None
        editing = svc is not None
        protocol = "fwmark" if key and key.fwmark is not None else (key.protocol.value if key and key.protocol
                                                                      else "tcp")
        yield labelled("Protocol", Select([(p, p) for p in ("tcp", "udp", "sctp", "fwmark")], value=protocol,
                                          allow_blank=False, id="protocol", disabled=editing))
        yield labelled("Address", Input(key.address if key and key.fwmark is None else "",
                                        placeholder="VIP, e.g. 192.0.2.10 or 2001:db8::10", id="address",
                                        disabled=editing), "address-row")
        yield labelled("Port", Input(str(key.port) if key and key.fwmark is None else "", placeholder="80",
                                     id="port", disabled=editing), "port-row")
        yield labelled("Firewall mark", Input(str(key.fwmark) if key and key.fwmark else "", placeholder="1",
                                              id="fwmark", disabled=editing), "fwmark-row")
        yield labelled("Family", Select([("IPv4", "ipv4"), ("IPv6", "ipv6")],
                                        value=key.family.value if key else "ipv4", allow_blank=False,
                                        id="family", disabled=editing), "family-row")
        current = svc.scheduler if svc else "wlc"
        names = sorted({*self.schedulers, current})
        yield labelled("Scheduler", Select([(n, n) for n in names], value=current, allow_blank=False,
                                           id="scheduler"))
        flags = set(svc.flags) if svc else set()
        for index in range(1, SCHED_FLAG_BOXES + 1):
            yield Checkbox(f"flag-{index}", id=f"sched-flag-{index}", classes="sched-flag", compact=True)
        yield Checkbox("One-packet scheduling (ops, UDP)", FLAG_ONEPACKET in flags, id="ops", compact=True)
        yield Checkbox("Persistent", FLAG_PERSISTENT in flags, id="persistent", compact=True)
        timeout = str(svc.persistence_timeout) if svc and svc.persistent else ""
        yield labelled("Persistence (s)", Input(timeout, placeholder="300", id="timeout"), "timeout-row")
        yield labelled("Netmask", Input(svc.netmask if svc else "", placeholder="host mask (one address)",
                                        id="netmask"), "netmask-row")
        self._initial_flags = flags

    def on_mount(self) -> None:
        self._label_flags(set(self._initial_flags))
        super().on_mount()

    def _label_flags(self, checked: set[str]) -> None:
        scheduler = str(self.choice("#scheduler"))
        names = [name for _, name in service_flags.scheduler_flag_names(scheduler)]
        offered = scheduler in ("sh", "mh")  # the only in-tree schedulers that read these bits
        for index in range(1, SCHED_FLAG_BOXES + 1):
            box = self.query_one(f"#sched-flag-{index}", Checkbox)
            name = names[index - 1] if index <= len(names) else ""
            box.display = offered and bool(name)
            box.label = name
            box.value = name in checked

    @on(Select.Changed, "#scheduler")
    def _scheduler_changed(self) -> None:
        self._label_flags(set())

    def arrange_fields(self) -> None:
        fwmark = self.choice("#protocol") == "fwmark"
        self.show("#address-row, #port-row", not fwmark)
        self.show("#fwmark-row, #family-row", fwmark)
        persistent = self.query_one("#persistent", Checkbox).value
        self.show("#timeout-row", persistent)

    def _key(self) -> ServiceKey:
        protocol = str(self.choice("#protocol"))
        if protocol == "fwmark":
            mark = whole("firewall mark", self.value("#fwmark"), high=inputs.U32_MAX, low=1)
            return ServiceKey.mark(mark, Family(str(self.choice("#family"))))
        vip = address("virtual IP address", self.value("#address"))
        port = whole("port", self.value("#port"), high=inputs.PORT_MAX)
        return ServiceKey(Family.of(vip), Protocol(protocol), vip, port)

    def _flags(self) -> tuple[str, ...]:
        names = [str(box.label) for box in self.query(".sched-flag").results(Checkbox)
                 if box.display and box.value]
        if self.query_one("#persistent", Checkbox).value:
            names.insert(0, FLAG_PERSISTENT)
        if self.query_one("#ops", Checkbox).value:
            names.insert(1 if names[:1] == [FLAG_PERSISTENT] else 0, FLAG_ONEPACKET)
        return tuple(names)

    def build(self) -> Plan:
        scheduler = str(self.choice("#scheduler"))
        flags = self._flags()
        timeout = whole("persistence timeout", self.value("#timeout"), 0, validate.MAX_TIMEOUT) \
            if FLAG_PERSISTENT in flags else 0
        netmask = self.value("#netmask").strip() or None
        if self.service is None:
            return changes.plan_add_service(ServiceConfig(self._key(), scheduler, flags, timeout, netmask),
                                            self.existing())
        # Explicit values: an emptied field means the default, not "keep what the kernel has".
        edit = ServiceEdit(scheduler, flags, timeout if FLAG_PERSISTENT in flags else None,
                           validate.netmask(self.service.key, netmask))
        return changes.plan_edit_service(self.service, edit)


class DestForm(FormScreen):
    """Add a real server to a service, or edit one (its address and port are then fixed)."""

    def __init__(self, service: Service, sysctls: Sysctls, dest: Dest | None = None) -> None:
        self.owner = service
        self.dest = dest
        self.sysctls = sysctls
        self.TITLE_TEXT = (f"Edit real server {dest.key} of {service.key}" if dest
                           else f"Add a real server to {service.key}")
        super().__init__()

    def fields(self) -> ComposeResult:
        dest = self.dest
        editing = dest is not None
        yield labelled("Address", Input(dest.address if dest else "", placeholder="e.g. 10.20.1.2",
                                        id="address", disabled=editing))
        port = str(dest.port) if dest else (str(self.owner.key.port) if self.owner.key.port else "")
        yield labelled("Port", Input(port, placeholder="the service's port", id="port", disabled=editing))
        yield labelled("Forwarding", Select(FORWARDS, value=dest.forward if dest and dest.forward in
                                            (Forward.MASQ, Forward.ROUTE, Forward.TUNNEL) else Forward.MASQ,
                                            allow_blank=False, id="forward"))
        tunnel = dest.tunnel if dest and dest.tunnel else Tunnel()
        yield labelled("Tunnel type", Select([(t.value, t) for t in TunnelType], value=tunnel.type,
                                             allow_blank=False, id="tun-type"), "tun-type-row")
        yield labelled("GUE port", Input(str(tunnel.port) if tunnel.port else "", placeholder="e.g. 6080",
                                         id="tun-port"), "tun-port-row")
        yield labelled("Checksum", Select(CHECKSUMS, value=tunnel.flags[0] if tunnel.flags else "",
                                          allow_blank=False, id="tun-csum"), "tun-csum-row")
        yield labelled("Weight", Input(str(dest.weight) if dest else "1", id="weight"))
        yield labelled("Upper threshold", Input(str(dest.upper_threshold) if dest else "",
                                                placeholder="0 = no limit", id="upper"))
        yield labelled("Lower threshold", Input(str(dest.lower_threshold) if dest else "",
                                                placeholder="0", id="lower"))

    def arrange_fields(self) -> None:
        tunnelled = self.choice("#forward") == Forward.TUNNEL
        self.show("#tun-type-row, #tun-csum-row", tunnelled)
        self.show("#tun-port-row", tunnelled and self.choice("#tun-type") == TunnelType.GUE)

    def _tunnel(self) -> Tunnel | None:
        if self.choice("#forward") != Forward.TUNNEL:
            return None
        kind = TunnelType(str(self.choice("#tun-type")))
        port = whole("GUE port", self.value("#tun-port"), high=inputs.PORT_MAX, low=1) \
            if kind is TunnelType.GUE else 0
        csum = str(self.choice("#tun-csum"))
        return Tunnel(kind, port, (csum,) if csum else ())

    def build(self) -> Plan:
        forward = Forward(str(self.choice("#forward")))
        weight = whole("weight", self.value("#weight"))
        upper = whole("upper threshold", self.value("#upper"), 0)
        lower = whole("lower threshold", self.value("#lower"), 0)
        if self.dest is None:
            server = address("real server's IP address", self.value("#address"))
            port = whole("port", self.value("#port"), self.owner.key.port, inputs.PORT_MAX)
            config = DestConfig(server, port, forward, self._tunnel(), weight, upper, lower)
            return changes.plan_add_dest(self.owner.key, config, [dest.key for dest in self.owner.dests])
        edit = DestEdit(forward, self._tunnel(), weight, upper, lower)
        return changes.plan_edit_dest(self.owner, self.dest, edit, self.sysctls)
