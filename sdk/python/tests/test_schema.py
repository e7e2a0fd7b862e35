"""The SDK's models follow the contract's JSON Schema (schema/countersign-v1.schema.json,
generated from the Rust wire types and checked in): every model has the members the schema
names, no member the schema lacks, the same required members and the same enum values; and
what the SDK builds, and the demo requests the Rust CLI writes, validate against it. A change
on either side that the other does not follow fails here."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel

from countersign import models

from conftest import Parties, run_cli

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "schema" / "countersign-v1.schema.json").read_text())
DEFS = SCHEMA["$defs"]

# Each SDK model and the contract type it stands for.
MODELS: dict[str, type[BaseModel]] = {
    "DelegationRequest": models.DelegationRequestModel,
    "Purpose": models.Purpose,
    "Action": models.Action,
    "Tool": models.Tool,
    "Impact": models.Impact,
    "Money": models.Money,
    "Evidence": models.Evidence,
    "Uncertainty": models.Uncertainty,
    "Alternative": models.Alternative,
    "Callback": models.Callback,
    "EscalationAsk": models.EscalationAsk,
    "HopClaims": models.HopClaims,
    "AuthorizationDetail": models.AuthorizationDetail,
    "Confirmation": models.Confirmation,
    "EvidenceCommitment": models.EvidenceCommitment,
    "DecisionClaims": models.DecisionClaims,
    "PolicyRef": models.PolicyRef,
    "Finding": models.Finding,
    "VerificationReport": models.VerificationReport,
    "SubmitResponse": models.SubmitResponse,
    "DecisionOutcome": models.DecisionOutcome,
    "Receipt": models.Receipt,
    "WebhookDelivery": models.WebhookDelivery,
    "TrustStore": models.TrustStore,
    "Party": models.TrustParty,
    "Jwk": models.Jwk,
}

ENUMS: dict[str, type[enum.Enum]] = {
    "FindingCode": models.FindingCode,
    "Severity": models.Severity,
    "Tier": models.Tier,
    "EvidenceKind": models.EvidenceKind,
    "RequestState": models.RequestState,
    "ReceiptStatus": models.ReceiptStatus,
}


def wire_names(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def schema_values(definition: dict[str, Any]) -> set[str]:
    if "enum" in definition:
        return set(definition["enum"])
    return {choice["const"] for choice in definition["oneOf"]}


# Members an SDK model has beyond its contract type, and why.
BEYOND_THE_CONTRACT: dict[str, set[str]] = {
    # The SDK reads JWKS entries, which carry RFC 7517's `use` and `alg` (the gateway adds
    # them) and an EC key's `y` (ES256, for hardware-backed reviewer keys later).
    "Jwk": {"use", "alg", "y"},
}


def required_names(model: type[BaseModel]) -> set[str]:
    return {f.alias or n for n, f in model.model_fields.items() if f.is_required()}


def always_written(model: type[BaseModel]) -> set[str]:
    """Members the model writes even when not given (a default other than None)."""
    return {f.alias or n for n, f in model.model_fields.items()
            if f.is_required() or (f.default is not None)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_model_has_the_members_of_its_contract_type(name: str) -> None:
    definition = DEFS[name]
    model = MODELS[name]
    assert wire_names(model) == set(definition["properties"]) | BEYOND_THE_CONTRACT.get(name, set()), name
    schema_required = set(definition.get("required", []))
    if issubclass(model, models._Received):
        # What the SDK reads: it must not insist on a member the contract lets the gateway omit.
        assert required_names(model) <= schema_required, name
    else:
        # What the SDK writes: every member the contract requires is always written.
        assert schema_required <= always_written(model), name


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_each_enum_has_the_values_of_its_contract_type(name: str) -> None:
    assert {member.value for member in ENUMS[name]} == schema_values(DEFS[name]), name


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": DEFS},
                                           format_checker=jsonschema.FormatChecker())


def test_what_the_sdk_builds_and_what_the_rust_cli_writes_validate(parties: Parties, cli: str,
                                                                   tmp_path: Path) -> None:
    request = parties.payment().to_wire()
    validator("DelegationRequest").validate(request)
    run_cli(cli, "demo-requests", str(tmp_path / "demo"))
    written = sorted((tmp_path / "demo").glob("0*.json"))
    assert len(written) == 7
    for path in written:
        validator("DelegationRequest").validate(json.loads(path.read_text()))
    validator("TrustStore").validate(json.loads((tmp_path / "demo" / "trust.json").read_text()))
    # And the schema can tell: a request without its chain is not one.
    broken = dict(request)
    del broken["chain"]
    with pytest.raises(jsonschema.ValidationError):
        validator("DelegationRequest").validate(broken)
