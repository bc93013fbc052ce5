import pytest

from lvs_tui.model.records import DestKey, Family, Info, Service, ServiceKey, Snapshot


def test_service_ids_are_stable_text_keys() -> None:
    assert ServiceKey.inet("tcp", "192.0.2.1", 80).id == "tcp:192.0.2.1:80"
    assert ServiceKey.inet("udp", "2001:db8::1", 53).id == "udp:[2001:db8::1]:53"
    assert ServiceKey.mark(5).id == "fwm:5"
    assert ServiceKey.mark(5, "ipv6").id == "fwm:5:ipv6"
    assert DestKey("2001:db8::2", 8080).id == "[2001:db8::2]:8080"


def test_family_follows_the_address() -> None:
    assert ServiceKey.inet("tcp", "2001:db8::1", 443).family is Family.IPV6
    assert ServiceKey.inet("sctp", "192.0.2.1", 3868).family is Family.IPV4


def test_a_service_key_needs_exactly_one_of_protocol_and_fwmark() -> None:
    with pytest.raises(ValueError):
        ServiceKey(Family.IPV4, None, "0.0.0.0", 0, None)


def test_snapshot_finds_services_by_key() -> None:
    web = Service(ServiceKey.inet("tcp", "192.0.2.1", 80), "rr")
    snapshot = Snapshot(0.0, 0.0, Info("1.2.1", 4096), (web,))
    assert snapshot.service(ServiceKey.inet("tcp", "192.0.2.1", 80)) is web
    assert snapshot.service(ServiceKey.inet("tcp", "192.0.2.1", 81)) is None


@pytest.mark.parametrize("text", ["tcp:10.10.0.1:80", "udp:[2001:db8::1]:53", "sctp:192.0.2.1:9", "fwm:7",
                                  "fwm:7:ipv6"])
def test_a_service_id_parses_back_to_its_key(text: str) -> None:
    assert ServiceKey.parse(text).id == text


@pytest.mark.parametrize("text", ["tcp:10.0.0.1", "http:10.0.0.1:80", "tcp:2001:db8::1:53", "fwm:x",
                                  "tcp:10.0.0.1:99999", "fwm:7:ipv5", "tcp:[10.0.0.1:80"])
def test_a_malformed_service_id_is_refused_with_the_forms_that_work(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a service: write tcp:192\.0\.2\.10:80"):
        ServiceKey.parse(text)
