import CRMDatabase

/// The quality-control database: codes, redacted texts, rubrics and reviews only (DESIGN §6) —
/// no name, phone or e-mail of anyone, and no id another service could look a person up by.
enum QualityControlSchema {
  static let migrations = [
    Migration(
      version: 1,
      name: "rubrics, review items, the queue and reviews",
      statements: [
        """
        CREATE TABLE rubric_versions (
          version bigint PRIMARY KEY CHECK (version >= 1),
          name text NOT NULL,
          defined_by text NOT NULL,
          defined_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE rubric_criteria (
          version bigint NOT NULL REFERENCES rubric_versions (version),
          position integer NOT NULL,
          key text NOT NULL,
          label text NOT NULL,
          weight integer NOT NULL CHECK (weight BETWEEN 1 AND 100),
          scale_max integer NOT NULL CHECK (scale_max IN (2, 5)),
          PRIMARY KEY (version, key),
          UNIQUE (version, position)
        )
        """,
        // One row per item id: a duplicate (any event id) changes nothing. The rubric version
        // is the one current when it arrived (null until the first rubric, which then takes it).
        """
        CREATE TABLE review_items (
          id text PRIMARY KEY,
          seq bigserial UNIQUE,
          kind text NOT NULL CHECK (kind IN ('meeting', 'call')),
          occurred_at timestamptz NOT NULL,
          rep_code text NOT NULL,
          client_code text NOT NULL,
          company_code text NOT NULL,
          deal_code text NOT NULL,
          redacted_text text NOT NULL,
          withheld_reason text CHECK (withheld_reason IN ('phone', 'email', 'address', 'name', 'other')),
          context jsonb NOT NULL,
          rubric_version bigint REFERENCES rubric_versions (version),
          reviews_required integer NOT NULL CHECK (reviews_required BETWEEN 0 AND 2),
          received_at timestamptz NOT NULL DEFAULT now(),
          reviewed_at timestamptz
        )
        """,
        "CREATE INDEX review_items_unreviewed ON review_items (received_at) WHERE reviewed_at IS NULL",
        // The queue: one slot per review an item needs (pass 1, and 2 when double-reviewed).
        // A slot is taken under FOR UPDATE SKIP LOCKED; everything the queue's rule needs is on
        // the slot's own row, so a replica that waited for it re-checks it as committed.
        """
        CREATE TABLE review_slots (
          item_id text NOT NULL REFERENCES review_items (id),
          pass integer NOT NULL CHECK (pass IN (1, 2)),
          item_seq bigint NOT NULL,
          rep_code text NOT NULL,
          state text NOT NULL CHECK (state IN ('waiting', 'leased', 'done')),
          lease_id uuid,
          reviewer text,
          lease_expires_at timestamptz,
          PRIMARY KEY (item_id, pass)
        )
        """,
        "CREATE INDEX review_slots_open ON review_slots (item_seq, pass) WHERE state <> 'done'",
        "CREATE INDEX review_slots_of_reviewer ON review_slots (reviewer, item_id)",
        // Every lease granted: a submission names its lease, which says whose it is and until when.
        """
        CREATE TABLE leases (
          id uuid PRIMARY KEY,
          item_id text NOT NULL REFERENCES review_items (id),
          pass integer NOT NULL,
          reviewer text NOT NULL,
          granted_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL,
          submitted_at timestamptz
        )
        """,
        "CREATE INDEX leases_of_reviewer ON leases (reviewer, granted_at)",
        // The reviewer's lock (one lease at a time) and the rep code of his last item.
        "CREATE TABLE reviewers (code text PRIMARY KEY, last_rep_code text)",
        """
        CREATE TABLE reviews (
          id uuid PRIMARY KEY,
          lease_id uuid NOT NULL UNIQUE REFERENCES leases (id),
          item_id text NOT NULL REFERENCES review_items (id),
          pass integer NOT NULL,
          reviewer text NOT NULL,
          rubric_version bigint NOT NULL REFERENCES rubric_versions (version),
          weighted_score double precision NOT NULL,
          submitted_at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (item_id, pass),
          UNIQUE (item_id, reviewer)
        )
        """,
        "CREATE INDEX reviews_of_reviewer ON reviews (reviewer, submitted_at)",
        """
        CREATE TABLE review_scores (
          review_id uuid NOT NULL REFERENCES reviews (id),
          position integer NOT NULL,
          criterion text NOT NULL,
          score integer NOT NULL CHECK (score BETWEEN 0 AND 5),
          PRIMARY KEY (review_id, criterion)
        )
        """,
      ]
    )
  ]
}
