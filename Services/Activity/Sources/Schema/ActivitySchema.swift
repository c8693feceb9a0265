import CRMDatabase

/// The activity database: the attribute catalogue, activities with their context, and the
/// directory of contacts and deals learnt from the contacts and deals services' events.
enum ActivitySchema {
  static let migrations = [
    Migration(
      version: 1,
      name: "attribute catalogue, activities and the directory",
      statements: [
        """
        CREATE TABLE known_contacts (
          id uuid PRIMARY KEY,
          owner_id text NOT NULL DEFAULT '',
          archived boolean NOT NULL DEFAULT false
        )
        """,
        // A deal's contact and owner never change; its status and version follow its events.
        """
        CREATE TABLE known_deals (
          id uuid PRIMARY KEY,
          contact_id uuid NOT NULL,
          owner_id text NOT NULL,
          status text NOT NULL,
          version bigint NOT NULL
        )
        """,
        """
        CREATE TABLE attributes (
          key text PRIMARY KEY,
          seq bigserial UNIQUE,
          label text NOT NULL,
          type text NOT NULL CHECK (type IN ('text', 'number', 'time', 'choice')),
          choices text[] NOT NULL,
          retired boolean NOT NULL DEFAULT false,
          version bigint NOT NULL DEFAULT 1
        )
        """,
        // Context: {"key": {"type": …, "value": …}} as checked against the catalogue.
        """
        CREATE TABLE activities (
          id uuid PRIMARY KEY,
          seq bigserial UNIQUE,
          kind text NOT NULL CHECK (kind IN ('meeting', 'call', 'email', 'message', 'request', 'order', 'wish',
                                             'reminder', 'note')),
          contact_id uuid,
          deal_id uuid,
          author text NOT NULL,
          author_id text NOT NULL,
          text text NOT NULL,
          context jsonb NOT NULL,
          occurred_at timestamptz NOT NULL,
          recorded_at timestamptz NOT NULL DEFAULT now(),
          CHECK (contact_id IS NOT NULL OR deal_id IS NOT NULL)
        )
        """,
        // Timelines: newest first by when it happened, the insertion order breaking ties.
        "CREATE INDEX activities_of_contact ON activities (contact_id, occurred_at DESC, seq DESC)",
        "CREATE INDEX activities_of_deal ON activities (deal_id, occurred_at DESC, seq DESC)",
        "CREATE INDEX activities_of_author ON activities (author_id, occurred_at DESC, seq DESC)",
      ]
    ),
    Migration(
      version: 2,
      name: "tasks and managers' time zones",
      statements: [
        """
        CREATE TABLE manager_settings (
          manager_id text PRIMARY KEY,
          time_zone text NOT NULL,
          version bigint NOT NULL DEFAULT 1
        )
        """,
        """
        CREATE TABLE tasks (
          id uuid PRIMARY KEY,
          seq bigserial UNIQUE,
          assignee_id text NOT NULL,
          deal_id uuid,
          contact_id uuid NOT NULL,
          title text NOT NULL,
          due_at timestamptz NOT NULL,
          status text NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
          created_by text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          closed_at timestamptz,
          outcome text NOT NULL DEFAULT '',
          version bigint NOT NULL DEFAULT 1
        )
        """,
        "CREATE INDEX open_tasks_of_assignee ON tasks (assignee_id, due_at, seq) WHERE status = 'open'",
        "CREATE INDEX tasks_of_deal ON tasks (deal_id) WHERE status = 'open'",
        // Every change of a task: the due time before and after, what was said, who and when.
        """
        CREATE TABLE task_changes (
          seq bigserial PRIMARY KEY,
          task_id uuid NOT NULL REFERENCES tasks (id),
          change text NOT NULL CHECK (change IN ('created', 'rescheduled', 'completed', 'cancelled')),
          previous_due_at timestamptz,
          due_at timestamptz NOT NULL,
          note text NOT NULL,
          actor text NOT NULL,
          at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX task_changes_of_task ON task_changes (task_id, seq)",
      ]
    ),
    Migration(
      version: 3,
      name: "offers and their answers",
      statements: [
        """
        CREATE TABLE offers (
          id uuid PRIMARY KEY,
          seq bigserial UNIQUE,
          deal_id uuid NOT NULL,
          contact_id uuid NOT NULL,
          variant text NOT NULL,
          amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
          currency text NOT NULL,
          terms text NOT NULL,
          answer_by timestamptz NOT NULL,
          outcome text NOT NULL CHECK (outcome IN ('pending', 'accepted', 'declined', 'no_answer')),
          decline_reason text NOT NULL DEFAULT '',
          made_by text NOT NULL,
          made_at timestamptz NOT NULL DEFAULT now(),
          answered_by text NOT NULL DEFAULT '',
          answered_at timestamptz,
          version bigint NOT NULL DEFAULT 1
        )
        """,
        "CREATE INDEX offers_of_deal ON offers (deal_id, seq DESC)",
        // The deadline sweep reads only the offers still waiting, soonest deadline first.
        "CREATE INDEX offers_waiting ON offers (answer_by) WHERE outcome = 'pending'",
      ]
    ),
    // Webhooks (issue 14 item 4): calls and e-mails from the providers, the phones and addresses
    // of the directory's contacts they are matched by, and unknown callers waiting for their lead.
    Migration(
      version: 4,
      name: "webhook calls and mail, contact addresses, unknown callers",
      statements: [
        // A contact's normalised phones (E.164) and e-mails (lower case), from its events.
        """
        CREATE TABLE contact_addresses (
          address text NOT NULL,
          contact_id uuid NOT NULL,
          seq bigserial,
          PRIMARY KEY (address, contact_id)
        )
        """,
        "CREATE INDEX contact_addresses_of_contact ON contact_addresses (contact_id)",
        // One row per provider event (the key makes a repeat change nothing); `reply` is the first
        // answer, given again to a repeat. A logged one is linked to its activity once its
        // counterpart's contact is known (at once, or when the contact or the lead's conversion
        // is learnt).
        """
        CREATE TABLE communications (
          id uuid PRIMARY KEY,
          seq bigserial UNIQUE,
          channel text NOT NULL CHECK (channel IN ('telephony', 'mail')),
          provider_event_id text NOT NULL,
          event text NOT NULL,
          direction text NOT NULL CHECK (direction IN ('in', 'out')),
          counterpart text NOT NULL,
          details jsonb NOT NULL,
          summary text NOT NULL,
          logged boolean NOT NULL,
          occurred_at timestamptz NOT NULL,
          manager_id text NOT NULL,
          contact_id uuid,
          activity_id uuid,
          lead_id text,
          reply jsonb NOT NULL,
          received_at timestamptz NOT NULL DEFAULT now(),
          UNIQUE (channel, provider_event_id)
        )
        """,
        "CREATE INDEX communications_unlinked ON communications (counterpart) WHERE activity_id IS NULL AND logged",
        "CREATE INDEX communications_of_lead ON communications (lead_id) WHERE activity_id IS NULL AND logged",
        // A number that called and matched no contact: a lead is made for it once (the worker
        // calls the contacts service with a request id derived from the number), retried
        // until the contacts service answers.
        """
        CREATE TABLE unknown_callers (
          number text PRIMARY KEY,
          manager_id text NOT NULL,
          lead_id text,
          attempts integer NOT NULL DEFAULT 0,
          last_error text NOT NULL DEFAULT '',
          next_attempt_at timestamptz NOT NULL DEFAULT now(),
          first_call_at timestamptz NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX unknown_callers_waiting ON unknown_callers (next_attempt_at) WHERE lead_id IS NULL",
      ]
    ),
    mailMigration,
    birthdayMigration,
    Migration(
      version: 6,
      name: "end-of-day (hygiene) reports",
      statements: [
        // When a deal was opened and closed (from its events; empty for deals learnt before),
        // so that a report can be made as of a past end of day; its stage for the reader.
        """
        ALTER TABLE known_deals ADD COLUMN opened_at timestamptz, ADD COLUMN closed_at timestamptz,
          ADD COLUMN stage_id text NOT NULL DEFAULT ''
        """,
        "CREATE INDEX known_deals_of_owner ON known_deals (owner_id)",
        // Any task of a deal, open or closed (a deal with a task is processed), and of a manager.
        "CREATE INDEX tasks_of_deal_any ON tasks (deal_id)",
        "CREATE INDEX tasks_of_assignee ON tasks (assignee_id)",
        // One report per manager and day: the row is the claim, written with its event in one
        // transaction, so that a day is reported once however many replicas run it.
        """
        CREATE TABLE hygiene_reports (
          manager_id text NOT NULL,
          day date NOT NULL,
          as_of timestamptz NOT NULL,
          computed_at timestamptz NOT NULL,
          report bytea NOT NULL,
          PRIMARY KEY (manager_id, day)
        )
        """,
      ]
    ),
    Migration(
      version: 9,
      name: "end-of-day reports: when they started, and indexes for their queries",
      statements: [
        // When reports started: a day that ended before is never reported, since the deals
        // learnt before migration 6 have no opened_at (they would count as open since ever) and
        // the closed ones no closed_at. One row, written here.
        """
        CREATE TABLE hygiene_start (
          one boolean PRIMARY KEY DEFAULT true CHECK (one),
          started_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        "INSERT INTO hygiene_start DEFAULT VALUES",
        // Rule 1 counts the tasks on the deal's contact too.
        "CREATE INDEX tasks_of_contact ON tasks (contact_id, created_at)",
        // The managers with something to report: owners of open deals, and deals and tasks closed
        // lately (closed ones outnumber the open ones in time; these read neither).
        "CREATE INDEX open_deals_of_owner ON known_deals (owner_id) WHERE status = 'open'",
        "CREATE INDEX closed_deals ON known_deals (closed_at) WHERE status <> 'open'",
        "CREATE INDEX closed_tasks ON tasks (closed_at) WHERE status <> 'open'",
      ]
    ),
    // Review items for quality control (issue 15): the names review texts are cleared of, which
    // attributes may cross the wall, and which activities became items.
    Migration(
      version: 10,
      name: "review items: known names, safe attributes, items made",
      statements: [
        // Every name a contact or company has had (a report may still use an old one), `seq`
        // in the order they were learnt.
        """
        CREATE TABLE known_names (
          id uuid NOT NULL,
          kind text NOT NULL CHECK (kind IN ('contact', 'company')),
          name text NOT NULL,
          seq bigserial UNIQUE,
          PRIMARY KEY (id, name)
        )
        """,
        // One more with every name added, in the adding transaction: the row lock orders them,
        // so a replica that reads version v sees every name up to v, and rereads the names
        // only when it moved (a sequence's maximum would not do: ids commit out of order).
        "CREATE TABLE known_names_version (version bigint NOT NULL)",
        "INSERT INTO known_names_version VALUES (0)",
        // A contact's company (its first membership): the report's company.
        """
        CREATE TABLE known_contact_companies (
          contact_id uuid PRIMARY KEY,
          company_id uuid NOT NULL
        )
        """,
        "ALTER TABLE attributes ADD COLUMN qc_safe boolean NOT NULL DEFAULT false",
        // One item per activity: made in the transaction that logs it; `withheld` is the reason
        // a text could not be cleared (counted for the head of sales), NULL when it was cleared.
        """
        CREATE TABLE review_items (
          activity_id uuid PRIMARY KEY,
          item_id text NOT NULL UNIQUE,
          withheld text CHECK (withheld IN ('phone', 'email', 'address', 'name')),
          made_at timestamptz NOT NULL DEFAULT now()
        )
        """,
      ]
    ),
    // A text too long for quality-control once redacted is withheld as 'other', which the check
    // of migration 10 refused: the whole LogActivity failed.
    Migration(
      version: 11,
      name: "review items withheld for another reason",
      statements: [
        """
        ALTER TABLE review_items DROP CONSTRAINT review_items_withheld_check,
          ADD CONSTRAINT review_items_withheld_check
          CHECK (withheld IN ('phone', 'email', 'address', 'name', 'other'))
        """
      ]
    ),
  ]
}
