"""Migration 0006 backfills one entrustment for every contract that existed before it (SQLite)."""

import json

from sqlalchemy import create_engine, text

from weiwai.migrate import upgrade


def test_existing_contracts_get_their_entrustment(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, revision="0005")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO agencies (id, code, legal_name, uscc, regions_served, capacity_cases, capacity_balance, "
            "status, version, created_at, updated_at) VALUES (1, 'OLD', '旧机构', '91330106000000001X', '[]', 10, "
            "100, 'active', 1, '2024-01-01 00:00:00', '2024-01-01 00:00:00')"))
        for number, status in ((1, "active"), (2, "terminated")):
            conn.execute(text(
                "INSERT INTO contracts (id, contract_no, agency_id, status, starts_on, ends_on, fee_schedule, "
                "permitted_channels, permitted_buckets, permitted_regions, placement_days, post_recall_grace_days, "
                "retention_days, reporting_cadence, entrustment_purpose, entrustment_duration, "
                "entrustment_processing_method, entrustment_data_categories, entrustment_protection_measures, "
                "handover_fields, compliance_terms, version, created_at, updated_at) VALUES "
                f"({number}, 'OLD-{number}', 1, '{status}', '2024-01-01', '2024-12-31', '{{}}', '[]', '[]', '[]', 90, "
                "0, 20, 'weekly', '催收', '合同期内', '电话', :categories, '加密', '{}', '{}', 1, "
                "'2024-01-01 00:00:00', '2024-01-01 00:00:00')"),
                {"categories": json.dumps(["姓名", "手机号码", "手机号"], ensure_ascii=False)})
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT contract_id, status, data_categories, retention_days, version "
                                 "FROM entrustments ORDER BY contract_id")).all()
    engine.dispose()
    assert [(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in rows] == [
        (1, "in_force", ["name", "phone"], 20, 1), (2, "ended", ["name", "phone"], 20, 1)]
