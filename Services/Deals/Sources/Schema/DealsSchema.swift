import CRMDatabase

/// The deals database: pipelines and their stages, deals with their stage transitions and
/// objections, and the directory of contacts and companies learnt from the contacts service.
enum DealsSchema {
  static let migrations = [
    Migration(
      version: 1,
      name: "pipelines and deals",
      statements: [
        """
        CREATE TABLE pipelines (
          id uuid PRIMARY KEY,
          seq bigserial UNIQUE,
          business_line text NOT NULL UNIQUE,
          name text NOT NULL,
          loss_reasons text[] NOT NULL,
          version bigint NOT NULL DEFAULT 1
        )
        """,
        // Positions order the stages; a revision renumbers them inside one transaction.
        """
        CREATE TABLE stages (
          id uuid PRIMARY KEY,
          pipeline_id uuid NOT NULL REFERENCES pipelines (id),
          position integer NOT NULL,
          name text NOT NULL,
          result text NOT NULL,
          default_probability integer NOT NULL CHECK (default_probability BETWEEN 0 AND 100),
          retired boolean NOT NULL DEFAULT false,
          UNIQUE (pipeline_id, position) DEFERRABLE INITIALLY DEFERRED
        )
        """,
        """
        CREATE TABLE known_contacts (
          id uuid PRIMARY KEY,
          owner_id text NOT NULL DEFAULT '',
          archived boolean NOT NULL DEFAULT false
        )
        """,
        "CREATE TABLE known_companies (id uuid PRIMARY KEY)",
        """
        CREATE TABLE deals (
          id uuid PRIMARY KEY,
          seq bigserial UNIQUE,
          contact_id uuid NOT NULL,
          company_id uuid,
          pipeline_id uuid NOT NULL REFERENCES pipelines (id),
          stage_id uuid NOT NULL REFERENCES stages (id),
          owner_id text NOT NULL,
          kind text NOT NULL CHECK (kind IN ('consultative', 'active')),
          source text NOT NULL,
          amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
          currency text NOT NULL,
          expected_close date,
          status text NOT NULL CHECK (status IN ('open', 'won', 'lost')),
          owner_probability integer CHECK (owner_probability BETWEEN 0 AND 100),
          loss_stage_id uuid REFERENCES stages (id),
          loss_reason text NOT NULL DEFAULT '',
          -- A lead opens at most one deal, however often its conversion is delivered.
          lead_id uuid UNIQUE,
          opened_at timestamptz NOT NULL DEFAULT now(),
          closed_at timestamptz,
          version bigint NOT NULL DEFAULT 1
        )
        """,
        "CREATE INDEX deals_of_contact ON deals (contact_id, seq) WHERE status = 'open'",
        "CREATE INDEX deals_by_pipeline ON deals (pipeline_id, stage_id, seq)",
        "CREATE INDEX deals_by_owner ON deals (owner_id, seq)",
        """
        CREATE TABLE deal_transitions (
          seq bigserial PRIMARY KEY,
          deal_id uuid NOT NULL REFERENCES deals (id),
          from_stage_id uuid NOT NULL REFERENCES stages (id),
          to_stage_id uuid NOT NULL REFERENCES stages (id),
          skipped_stage_ids uuid[] NOT NULL,
          actor text NOT NULL,
          moved_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX deal_transitions_of_deal ON deal_transitions (deal_id, seq)",
        """
        CREATE TABLE deal_objections (
          seq bigserial PRIMARY KEY,
          id uuid NOT NULL UNIQUE,
          deal_id uuid NOT NULL REFERENCES deals (id),
          stage_id uuid NOT NULL REFERENCES stages (id),
          reason text NOT NULL,
          kind text NOT NULL CHECK (kind IN ('real', 'stall')),
          conditions text NOT NULL,
          actor text NOT NULL,
          raised_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX deal_objections_of_deal ON deal_objections (deal_id, seq)",
      ]
    ),
    // History import (issue 16): a backdated change is refused before the deal's last change,
    // so every change keeps its time; estimates and amount changes have no row of their own.
    Migration(
      version: 2,
      name: "the time of each deal's last change",
      statements: [
        "ALTER TABLE deals ADD COLUMN changed_at timestamptz",
        """
        UPDATE deals d SET changed_at = GREATEST(
          d.opened_at, d.closed_at,
          (SELECT max(moved_at) FROM deal_transitions t WHERE t.deal_id = d.id),
          (SELECT max(raised_at) FROM deal_objections o WHERE o.deal_id = d.id))
        """,
        "ALTER TABLE deals ALTER COLUMN changed_at SET DEFAULT now(), ALTER COLUMN changed_at SET NOT NULL",
      ]
    ),
  ]
}
