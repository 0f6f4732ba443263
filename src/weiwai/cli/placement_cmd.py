"""`weiwai place …`: allocate screened accounts to agencies, in batches.

    weiwai place preview --rules rules.yaml --strategy equal_count [--seed 7] [--agencies A,B]
    weiwai place create  --rules rules.yaml --strategy strategy.yaml [--name standard]
    weiwai place confirm B20240301-1
    weiwai place discard B20240301-1
    weiwai place show B20240301-1 | weiwai place list

--strategy takes a name, a YAML/JSON file or inline JSON ({"name": ..., "params": {...}});
--seed and --param KEY=VALUE override what it says.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from weiwai.i18n import _
from weiwai.placements.render import DATE_FORMATS, console, day_or_today, default_actor

app = typer.Typer(help="Placement batches (委案): allocate accounts to agencies, then confirm.",
                  no_args_is_help=True)

RULES = typer.Option(None, "--rules", help="Screening rules file (YAML or JSON).")
RULE_SET = typer.Option(None, "--rule-set", help="A saved rule set: NAME or NAME@VERSION (instead of --rules).")
STRATEGY = typer.Option(..., "--strategy", help="Strategy name, YAML/JSON file, or inline JSON.")
SEED = typer.Option(None, "--seed", help="Seed of the random order (same seed, same allocation).")
PARAM = typer.Option(None, "--param", help="Strategy parameter KEY=VALUE (repeatable).")
AGENCIES = typer.Option(None, "--agencies", help="Only these agency codes, comma-separated (default: all active).")
AS_OF = typer.Option(None, "--as-of", formats=DATE_FORMATS, help="Placement day (default today).")
ACTOR = typer.Option(None, help="Who is acting (default: cli:<login name>).")


@app.command("preview")
def preview(
    rules: Path | None = RULES,
    rule_set: str | None = RULE_SET,
    strategy: str = STRATEGY,
    seed: int | None = SEED,
    param: list[str] | None = PARAM,
    agencies: str | None = AGENCIES,
    as_of: datetime | None = AS_OF,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Show per agency counts and balances, and what stays unallocated and why. Writes nothing."""
    from weiwai.db import session_scope
    from weiwai.placements.batches import preview_placement
    from weiwai.placements.render import print_placement

    spec = parse_strategy(strategy, seed=seed, params=param)
    with session_scope() as session:
        parsed = _rules(session, rules, rule_set)
        result = preview_placement(session=session, rules=parsed, strategy=spec, as_of=day_or_today(as_of),
                                   agencies=_codes(agencies))
        session.rollback()
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        print_placement(console(), result)


@app.command("create")
def create(
    rules: Path | None = RULES,
    rule_set: str | None = RULE_SET,
    name: str | None = typer.Option(None, "--name", help="Name to save --rules under (default: the file name)."),
    strategy: str = STRATEGY,
    seed: int | None = SEED,
    param: list[str] | None = PARAM,
    agencies: str | None = AGENCIES,
    as_of: datetime | None = AS_OF,
    actor: str | None = ACTOR,
) -> None:
    """Create a draft batch holding the allocation (no cases yet); confirm it to place."""
    from weiwai.db import session_scope
    from weiwai.placements.batches import batch_read, create_batch
    from weiwai.placements.render import print_batch
    from weiwai.placements.rules_file import load_model
    from weiwai.placements.screening import ScreeningRules
    from weiwai.placements.screening_service import get_rule_set, save_rule_set

    spec = parse_strategy(strategy, seed=seed, params=param)
    who = actor or default_actor()
    _one_source(rules, rule_set)
    with session_scope() as session:
        if rules is not None:
            saved, _created = save_rule_set(session=session, rules=load_model(ScreeningRules, rules),
                                            name=name or rules.stem, actor=who)
        else:
            from weiwai.cli.screen_cmd import split_rule_set_ref

            base, version = split_rule_set_ref(rule_set)
            saved = get_rule_set(session=session, name=base, version=version)
        batch = create_batch(session=session, rule_set=saved, strategy=spec, as_of=day_or_today(as_of), actor=who,
                             agencies=_codes(agencies))
        read = batch_read(session=session, batch=batch)
    out = console()
    print_batch(out, read)
    out.print(_("Draft {batch_no} created. Confirm it with: weiwai place confirm {batch_no}").format(
        batch_no=read.batch_no))


@app.command("confirm")
def confirm(batch_no: str = typer.Argument(..., help="Batch number, e.g. B20240301-1."), actor: str | None = ACTOR) -> None:
    """Re-check the draft against today's data and create all its cases in one transaction."""
    from weiwai.db import session_scope
    from weiwai.placements.batches import batch_read, confirm_batch

    with session_scope() as session:
        batch = confirm_batch(session=session, batch_no=batch_no, actor=actor or default_actor())
        read = batch_read(session=session, batch=batch)
    console().print(_("Batch {batch_no} is {status}: {cases} cases placed").format(
        batch_no=read.batch_no, status=read.status, cases=read.cases))


@app.command("discard")
def discard(batch_no: str = typer.Argument(...), actor: str | None = ACTOR) -> None:
    """Close a draft batch without placing anything."""
    from weiwai.db import session_scope
    from weiwai.placements.batches import discard_batch

    with session_scope() as session:
        batch = discard_batch(session=session, batch_no=batch_no, actor=actor or default_actor())
        console().print(_("Batch {batch_no} discarded").format(batch_no=batch.batch_no))


@app.command("show")
def show(batch_no: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """A batch: status, allocation summary, case counts."""
    from weiwai.db import session_scope
    from weiwai.placements.batches import batch_read, get_batch
    from weiwai.placements.render import print_batch

    with session_scope() as session:
        read = batch_read(session=session, batch=get_batch(session=session, batch_no=batch_no))
    if as_json:
        typer.echo(read.model_dump_json(indent=2))
    else:
        print_batch(console(), read)


@app.command("list")
def list_batches(
    status: str | None = typer.Option(None, help="draft, confirmed, active or closed."),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """Batches, newest first."""
    from rich.table import Table

    from weiwai.db import session_scope
    from weiwai.placements.batches import list_batches as service_list
    from weiwai.placements.models import BatchStatus

    try:
        wanted = BatchStatus(status) if status else None
    except ValueError:
        raise typer.BadParameter(_("unknown status {status}").format(status=status)) from None
    table = Table(_("batch"), _("status"), _("as of"), _("strategy"), _("allocated"), _("created by"))
    with session_scope() as session:
        for batch in service_list(session=session, status=wanted, limit=limit):
            table.add_row(batch.batch_no, str(batch.status), batch.as_of.isoformat(), batch.strategy.get("name", ""),
                          str(batch.summary.get("cases", batch.summary.get("allocated", ""))), batch.created_by)
    console().print(table)


def parse_strategy(text: str, *, seed: int | None = None, params: list[str] | None = None):
    """A StrategySpec from a name, a file or inline JSON, with --seed and --param applied."""
    from weiwai.placements.rules_file import load_model, parse_model, validate_model
    from weiwai.placements.strategy import StrategySpec

    path = Path(text)
    if text.lstrip().startswith("{"):
        spec = parse_model(StrategySpec, text, file="--strategy")
    elif path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file():
        spec = load_model(StrategySpec, path)
    else:
        spec = validate_model(StrategySpec, {"name": text.strip()}, file="--strategy")
    data = spec.model_dump(mode="json")
    for item in params or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(_("--param takes KEY=VALUE, got {item}").format(item=item))
        data["params"][key.strip()] = value.strip()
    if seed is not None:
        data["seed"] = seed
    return validate_model(StrategySpec, data, file="--strategy")


def _codes(agencies: str | None) -> list[str] | None:
    codes = [code.strip() for code in (agencies or "").split(",") if code.strip()]
    return codes or None


def _one_source(rules: Path | None, rule_set: str | None) -> None:
    if (rules is None) == (rule_set is None):
        raise typer.BadParameter(_("give either --rules or --rule-set"))


def _rules(session, rules: Path | None, rule_set: str | None):
    from weiwai.placements.rules_file import load_model
    from weiwai.placements.screening import ScreeningRules
    from weiwai.placements.screening_service import get_rule_set, rules_of

    _one_source(rules, rule_set)
    if rules is not None:
        return load_model(ScreeningRules, rules)
    from weiwai.cli.screen_cmd import split_rule_set_ref

    base, version = split_rule_set_ref(rule_set)
    return rules_of(get_rule_set(session=session, name=base, version=version))
