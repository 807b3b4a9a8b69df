//! Recognising a statement that may already have run: given the object a statement creates or
//! drops and what the catalog shows under that name, decide whether to run it, skip it, drop an
//! INVALID leftover first, or stop with both definitions. Pure: the catalog is read by the
//! backend (PostgreSQL: `engine/postgres/objects.rs`), the decision is made here.
//!
//! A statement that cannot share a transaction with its ledger record (`CREATE INDEX
//! CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, each statement of an undo) may have taken effect in
//! a run that died before recording it. On the next run the catalog is the witness: an object
//! with the planned definition counts as done.
//!
//! Definitions are compared after [`normalize`] (case, quotes, whitespace, the default schema and
//! index method, `CONCURRENTLY`, `IF NOT EXISTS`, `NOT VALID`) and, failing that, by
//! [`fingerprint`], which also forgets parentheses and `::type` casts, because the server
//! rewrites `CHECK (total >= 0)` as `CHECK ((total >= (0)::numeric))`. The name already matches,
//! so the looser comparison only has to tell a bellows object from a different one someone made
//! by hand under the same name.

/// The kind of schema object a statement makes or removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Index,
    Constraint,
    Trigger,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Index => "index",
            ObjectKind::Constraint => "constraint",
            ObjectKind::Trigger => "trigger",
        }
    }
}

/// Whether the statement brings the object into being or removes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Create,
    Drop,
}

/// The object a statement is about, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedObject {
    pub kind: ObjectKind,
    /// The object's name, unquoted (`orders_customer_id_idx`).
    pub name: String,
    /// The definition as the statement gives it, in the shape the server prints it:
    /// `pg_get_indexdef` (`CREATE INDEX … ON …`), `pg_get_constraintdef` (`CHECK (…)`,
    /// `FOREIGN KEY (…) REFERENCES …`) or `pg_get_triggerdef` (`CREATE TRIGGER …`). Empty for a
    /// drop.
    pub definition: String,
    pub intent: Intent,
    /// A constraint the statement adds `NOT VALID` is done once it exists, validated or not;
    /// otherwise only a validated one (an index: only a valid one) is.
    pub may_be_unvalidated: bool,
}

/// What the catalog shows under the planned name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Absent,
    Present {
        /// The server's own definition (`pg_get_indexdef`, `pg_get_constraintdef`,
        /// `pg_get_triggerdef`).
        definition: String,
        /// `indisvalid` for an index, `convalidated` for a constraint, always `true` for a
        /// trigger.
        valid: bool,
    },
}

/// What to do with the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing there yet (or, for a drop, still there): run it.
    Run,
    /// An earlier run did it: record it as done without running it.
    AlreadyDone,
    /// An INVALID index (or unvalidated constraint) of an interrupted attempt: drop it, then run.
    DropInvalidThenRun,
    /// Something else has the name: stop, naming both definitions.
    Conflict { planned: String, found: String },
}

/// The decision for a statement about `planned`, given what the catalog shows.
pub fn decide(planned: &PlannedObject, found: &Found) -> Decision {
    match (planned.intent, found) {
        (Intent::Drop, Found::Absent) => Decision::AlreadyDone,
        (Intent::Drop, Found::Present { .. }) => Decision::Run,
        (Intent::Create, Found::Absent) => Decision::Run,
        (Intent::Create, Found::Present { definition, valid }) => {
            if !same_definition(&planned.definition, definition) {
                return Decision::Conflict {
                    planned: planned.definition.clone(),
                    found: definition.clone(),
                };
            }
            if *valid || (planned.kind == ObjectKind::Constraint && planned.may_be_unvalidated) {
                Decision::AlreadyDone
            } else {
                Decision::DropInvalidThenRun
            }
        }
    }
}

/// Whether two definitions of the same object are the same, as far as text can tell.
pub fn same_definition(planned: &str, found: &str) -> bool {
    if let Some(kind) = attached_index_kind(planned) {
        // The server prints the columns (`UNIQUE (email)`), which the statement does not name:
        // with the name already matching, the kind of constraint is what can be compared.
        return normalize(found).starts_with(kind);
    }
    normalize(planned) == normalize(found) || fingerprint(planned) == fingerprint(found)
}

/// `unique` or `primary key` for a constraint attached from an index (`UNIQUE USING INDEX …`,
/// as `add_unique` and `add_primary_key` add them).
fn attached_index_kind(planned: &str) -> Option<&'static str> {
    let normalized = normalize(planned);
    ["unique", "primary key"].into_iter().find(|kind| {
        normalized
            .strip_prefix(kind)
            .is_some_and(|rest| rest.trim_start().starts_with("using index"))
    })
}

/// A definition in one canonical spelling: words outside quotes lower-cased, double quotes
/// dropped, whitespace collapsed and removed around punctuation, and the parts the server
/// adds or leaves out removed (`public.`, `USING btree`, `CONCURRENTLY`, `IF NOT EXISTS`,
/// `NOT VALID`, `ON DELETE/UPDATE NO ACTION`, a trailing `;`).
pub fn normalize(definition: &str) -> String {
    let tokens = tokens(definition);
    let tokens = drop_noise(&tokens);
    join(&tokens)
}

/// [`normalize`], then without parentheses and `::type` casts: a looser comparison for
/// expressions the server rewrites.
pub fn fingerprint(definition: &str) -> String {
    let tokens = drop_noise(&tokens(definition));
    let mut kept: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Punct(p) if p == "(" || p == ")" => i += 1,
            Token::Punct(p) if p == "::" => i = skip_type(&tokens, i + 1),
            token => {
                kept.push(token.clone());
                i += 1;
            }
        }
    }
    join(&kept)
}

/// The name and definition of the index a `CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT
/// EXISTS] name ON …` statement builds; `None` for any other statement.
pub fn index_of(sql: &str) -> Option<PlannedObject> {
    let words = tokens(sql);
    if let Some(added) = added_index(&words) {
        return Some(added);
    }
    let mut i = 0;
    expect_word(&words, &mut i, "create")?;
    skip_word(&words, &mut i, "unique");
    expect_word(&words, &mut i, "index")?;
    skip_word(&words, &mut i, "concurrently");
    if skip_word(&words, &mut i, "if") {
        expect_word(&words, &mut i, "not")?;
        expect_word(&words, &mut i, "exists")?;
    }
    let name = last_name_part(&words, &mut i)?;
    Some(PlannedObject {
        kind: ObjectKind::Index,
        name,
        definition: sql.trim().trim_end_matches(';').to_string(),
        intent: Intent::Create,
        may_be_unvalidated: false,
    })
}

/// MySQL's `ALTER TABLE t ADD [UNIQUE] INDEX|KEY name (a, b DESC), …`: the index, its definition
/// the column list as MySQL's catalog gives it (`a,b`).
fn added_index(words: &[Token]) -> Option<PlannedObject> {
    let mut i = 0;
    expect_word(words, &mut i, "alter")?;
    expect_word(words, &mut i, "table")?;
    last_name_part(words, &mut i)?;
    expect_word(words, &mut i, "add")?;
    skip_word(words, &mut i, "unique");
    if !skip_word(words, &mut i, "index") {
        expect_word(words, &mut i, "key")?;
    }
    let name = last_name_part(words, &mut i)?;
    if !is_punct(words.get(i), "(") {
        return None;
    }
    let (mut depth, mut columns, mut element_start) = (0, Vec::new(), true);
    for token in &words[i..] {
        match token {
            Token::Punct(p) if p == "(" => depth += 1,
            Token::Punct(p) if p == ")" => depth -= 1,
            Token::Punct(p) if p == "," && depth == 1 => element_start = true,
            Token::Word(w) | Token::Quoted(w) if depth == 1 && element_start => {
                columns.push(w.clone());
                element_start = false;
            }
            _ => {}
        }
        if depth == 0 {
            break;
        }
    }
    Some(PlannedObject {
        kind: ObjectKind::Index,
        name,
        definition: columns.join(","),
        intent: Intent::Create,
        may_be_unvalidated: false,
    })
}

/// The constraint an `ALTER TABLE … ADD CONSTRAINT name <definition>` statement adds, its
/// definition in `pg_get_constraintdef` shape; `None` for any other statement.
pub fn constraint_of(sql: &str) -> Option<PlannedObject> {
    let spanned = spanned(sql);
    let words: Vec<Token> = spanned.iter().map(|(t, _)| t.clone()).collect();
    let start = words
        .windows(2)
        .position(|w| is_word(&w[0], "add") && is_word(&w[1], "constraint"))?;
    let mut i = start + 2;
    let name = last_name_part(&words, &mut i)?;
    let (_, from) = spanned.get(i)?;
    let definition: String = sql.chars().skip(*from).collect();
    let n = words.len();
    let unvalidated = n >= 2 && is_word(&words[n - 2], "not") && is_word(&words[n - 1], "valid");
    Some(PlannedObject {
        kind: ObjectKind::Constraint,
        name,
        definition: definition.trim().trim_end_matches(';').to_string(),
        intent: Intent::Create,
        may_be_unvalidated: unvalidated,
    })
}

/// The trigger a `CREATE TRIGGER name …` statement makes; `None` for any other statement.
pub fn trigger_of(sql: &str) -> Option<PlannedObject> {
    let words = tokens(sql);
    let mut i = 0;
    expect_word(&words, &mut i, "create")?;
    if skip_word(&words, &mut i, "or") {
        expect_word(&words, &mut i, "replace")?;
    }
    expect_word(&words, &mut i, "trigger")?;
    let name = last_name_part(&words, &mut i)?;
    Some(PlannedObject {
        kind: ObjectKind::Trigger,
        name,
        definition: sql.trim().trim_end_matches(';').to_string(),
        intent: Intent::Create,
        may_be_unvalidated: false,
    })
}

/// The object a creating statement is about, whichever kind it is.
pub fn object_of(sql: &str) -> Option<PlannedObject> {
    index_of(sql)
        .or_else(|| constraint_of(sql))
        .or_else(|| trigger_of(sql))
}

/// The object a dropping statement removes: `DROP INDEX [CONCURRENTLY] [IF EXISTS] name`,
/// `DROP TRIGGER [IF EXISTS] name ON table`, `ALTER TABLE table DROP CONSTRAINT [IF EXISTS]
/// name`; `None` for any other statement.
pub fn dropped_by(sql: &str) -> Option<PlannedObject> {
    let words = tokens(sql);
    let mut i = 0;
    let kind = if skip_word(&words, &mut i, "drop") {
        if skip_word(&words, &mut i, "index") {
            skip_word(&words, &mut i, "concurrently");
            ObjectKind::Index
        } else {
            expect_word(&words, &mut i, "trigger")?;
            ObjectKind::Trigger
        }
    } else {
        expect_word(&words, &mut i, "alter")?;
        expect_word(&words, &mut i, "table")?;
        // MySQL drops an index (`DROP INDEX`, `DROP KEY`) and a foreign key in ALTER TABLE too.
        let (at, kind, words_long) = words.windows(3).enumerate().find_map(|(at, w)| {
            if !is_word(&w[0], "drop") {
                return None;
            }
            if is_word(&w[1], "constraint") {
                Some((at, ObjectKind::Constraint, 2))
            } else if is_word(&w[1], "index") || is_word(&w[1], "key") {
                Some((at, ObjectKind::Index, 2))
            } else if is_word(&w[1], "foreign") && is_word(&w[2], "key") {
                Some((at, ObjectKind::Constraint, 3))
            } else {
                None
            }
        })?;
        i = at + words_long;
        kind
    };
    if skip_word(&words, &mut i, "if") {
        expect_word(&words, &mut i, "exists")?;
    }
    let name = last_name_part(&words, &mut i)?;
    Some(PlannedObject {
        kind,
        name,
        definition: String::new(),
        intent: Intent::Drop,
        may_be_unvalidated: false,
    })
}

// === tokens ======================================================================================

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An unquoted word, lower-cased (keywords, identifiers, numbers).
    Word(String),
    /// A double-quoted identifier, its text as written.
    Quoted(String),
    /// A string literal with its quotes, as written.
    Literal(String),
    /// Punctuation and operators: `(`, `)`, `,`, `.`, `::`, `>=`, ….
    Punct(String),
}

fn tokens(sql: &str) -> Vec<Token> {
    spanned(sql).into_iter().map(|(token, _)| token).collect()
}

/// The tokens of `sql`, each with the char index where it starts.
fn spanned(sql: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = if c == '\'' || c == '"' || c == '`' {
            i = quoted_end(&chars, i);
            let text: String = chars[start..i].iter().collect();
            if c != '\'' {
                // NOTE: MySQL quotes identifiers with backticks.
                let inner = text[1..text.len().saturating_sub(1).max(1)].to_string();
                Token::Quoted(inner.replace(&format!("{c}{c}"), &c.to_string()))
            } else {
                Token::Literal(text)
            }
        } else if is_word_char(c) {
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            Token::Word(chars[start..i].iter().collect::<String>().to_lowercase())
        } else {
            i += 1;
            if !"(),.;".contains(c) {
                while i < chars.len() && is_operator_char(chars[i]) {
                    i += 1;
                }
            }
            Token::Punct(chars[start..i].iter().collect())
        };
        out.push((token, start));
    }
    out
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn is_operator_char(c: char) -> bool {
    "+-*/<>=~!@#%^&|?:".contains(c)
}

/// The index just after the quoted text starting at `start` (a doubled quote escapes it).
fn quoted_end(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// A double-quoted identifier that needs no quotes compares as the bare word.
fn plain(token: &Token) -> Token {
    match token {
        Token::Quoted(text)
            if !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !text.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            Token::Word(text.clone())
        }
        other => other.clone(),
    }
}

fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w == word)
}

fn is_punct(token: Option<&Token>, punct: &str) -> bool {
    matches!(token, Some(Token::Punct(p)) if p == punct)
}

/// Word sequences the server adds or leaves out, removed before comparing.
const NOISE: &[&[&str]] = &[
    &["concurrently"],
    &["if", "not", "exists"],
    &["using", "btree"],
    &["not", "valid"],
    &["on", "delete", "no", "action"],
    &["on", "update", "no", "action"],
];

fn drop_noise(tokens: &[Token]) -> Vec<Token> {
    let tokens: Vec<Token> = tokens.iter().map(plain).collect();
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    'outer: while i < tokens.len() {
        for words in NOISE {
            let fits = words
                .iter()
                .enumerate()
                .all(|(k, w)| tokens.get(i + k).is_some_and(|t| is_word(t, w)));
            if fits {
                i += words.len();
                continue 'outer;
            }
        }
        // `TABLESPACE ts` of an index: `pg_get_indexdef` leaves it out.
        if is_word(&tokens[i], "tablespace")
            && matches!(tokens.get(i + 1), Some(Token::Word(_) | Token::Quoted(_)))
        {
            i += 2;
            continue;
        }
        // `public.` before a name: the default schema the server prints or leaves out.
        if is_word(&tokens[i], "public") && is_punct(tokens.get(i + 1), ".") {
            i += 2;
            continue;
        }
        if is_punct(tokens.get(i), ";") && i + 1 == tokens.len() {
            break;
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

/// Words of multi-word type names that follow the first word after `::`.
const TYPE_TAIL: &[&str] = &["varying", "precision", "with", "without", "time", "zone"];

/// The index just after the type name starting at `i` (`numeric`, `character varying`,
/// `timestamp with time zone`, `public.mood`, `text[]`).
fn skip_type(tokens: &[Token], mut i: usize) -> usize {
    if matches!(tokens.get(i), Some(Token::Word(_) | Token::Quoted(_))) {
        i += 1;
    }
    while is_punct(tokens.get(i), ".") {
        i += 2;
    }
    while tokens
        .get(i)
        .is_some_and(|t| TYPE_TAIL.iter().any(|w| is_word(t, w)))
    {
        i += 1;
    }
    while tokens
        .get(i)
        .is_some_and(|t| matches!(t, Token::Punct(p) if p == "[]" || p == "[" || p == "]"))
    {
        i += 1;
    }
    i
}

fn join(tokens: &[Token]) -> String {
    let mut out = String::new();
    let mut previous_word = false;
    for token in tokens {
        let (text, word) = match token {
            Token::Word(w) => (w.clone(), true),
            Token::Quoted(q) => (format!("\"{}\"", q.replace('"', "\"\"")), true),
            Token::Literal(l) => (l.clone(), true),
            Token::Punct(p) => (p.clone(), false),
        };
        if word && previous_word {
            out.push(' ');
        }
        out.push_str(&text);
        previous_word = word;
    }
    out
}

fn expect_word(tokens: &[Token], i: &mut usize, word: &str) -> Option<()> {
    skip_word(tokens, i, word).then_some(())
}

fn skip_word(tokens: &[Token], i: &mut usize, word: &str) -> bool {
    if tokens.get(*i).is_some_and(|t| is_word(t, word)) {
        *i += 1;
        true
    } else {
        false
    }
}

/// The last part of a possibly schema-qualified name starting at `i`, unquoted; `i` ends after it.
fn last_name_part(tokens: &[Token], i: &mut usize) -> Option<String> {
    loop {
        let name = match tokens.get(*i)? {
            Token::Word(w) => w.clone(),
            Token::Quoted(q) => q.clone(),
            _ => return None,
        };
        *i += 1;
        if !is_punct(tokens.get(*i), ".") {
            return Some(name);
        }
        *i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(definition: &str) -> PlannedObject {
        index_of(definition).expect("an index statement")
    }

    fn present(definition: &str, valid: bool) -> Found {
        Found::Present {
            definition: definition.into(),
            valid,
        }
    }

    const PLANNED_INDEX: &str =
        "CREATE INDEX CONCURRENTLY \"orders_customer_id_idx\" ON \"orders\" (\"customer_id\")";
    const SERVER_INDEX: &str =
        "CREATE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id)";

    #[test]
    fn decisions_for_a_create() {
        let planned = index(PLANNED_INDEX);
        let other = "CREATE INDEX orders_customer_id_idx ON public.orders USING btree (qty)";
        let cases: &[(Found, Decision)] = &[
            (Found::Absent, Decision::Run),
            (present(SERVER_INDEX, true), Decision::AlreadyDone),
            (present(SERVER_INDEX, false), Decision::DropInvalidThenRun),
            (
                present(other, true),
                Decision::Conflict {
                    planned: PLANNED_INDEX.into(),
                    found: other.into(),
                },
            ),
            (
                present(other, false),
                Decision::Conflict {
                    planned: PLANNED_INDEX.into(),
                    found: other.into(),
                },
            ),
        ];
        for (found, expected) in cases {
            assert_eq!(&decide(&planned, found), expected, "{found:?}");
        }
    }

    #[test]
    fn mysql_statements_name_their_objects() {
        let added = index_of(
            "ALTER TABLE `shop`.`orders` ADD INDEX `orders_customer_total_idx` (`customer_id`, `total` DESC), ALGORITHM=INPLACE, LOCK=NONE",
        )
        .expect("an index");
        assert_eq!(added.name, "orders_customer_total_idx");
        assert_eq!(added.definition, "customer_id,total");
        assert!(same_definition(&added.definition, "customer_id,total"));
        let unique = index_of("ALTER TABLE `t` ADD UNIQUE KEY `t_a` (`a`)").expect("an index");
        assert_eq!(
            (unique.name.as_str(), unique.definition.as_str()),
            ("t_a", "a")
        );
        let dropped = |sql| dropped_by(sql).map(|o| (o.kind, o.name));
        assert_eq!(
            dropped(
                "ALTER TABLE `users` DROP INDEX `users_email_idx`, ALGORITHM=INPLACE, LOCK=NONE"
            ),
            Some((ObjectKind::Index, "users_email_idx".into()))
        );
        assert_eq!(
            dropped("ALTER TABLE `orders` DROP FOREIGN KEY `orders_user_id_fkey`"),
            Some((ObjectKind::Constraint, "orders_user_id_fkey".into()))
        );
        assert_eq!(
            dropped("DROP INDEX `users_name_idx` ON `users`"),
            Some((ObjectKind::Index, "users_name_idx".into()))
        );
        let fk = constraint_of("SET STATEMENT foreign_key_checks = 0 FOR ALTER TABLE `orders` ADD CONSTRAINT `orders_user_id_fkey` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`)");
        assert_eq!(fk.map(|c| c.name), Some("orders_user_id_fkey".into()));
        assert_eq!(index_of("ALTER TABLE `t` ADD COLUMN `a` int"), None);
    }

    #[test]
    fn decisions_for_a_drop() {
        let planned = PlannedObject {
            kind: ObjectKind::Trigger,
            name: "bellows_sync_orders_total".into(),
            definition: String::new(),
            intent: Intent::Drop,
            may_be_unvalidated: false,
        };
        assert_eq!(decide(&planned, &Found::Absent), Decision::AlreadyDone);
        assert_eq!(
            decide(&planned, &present("CREATE TRIGGER x", true)),
            Decision::Run
        );
    }

    #[test]
    fn a_not_valid_constraint_is_done_once_it_exists() {
        let planned = constraint_of(
            "ALTER TABLE \"orders\" ADD CONSTRAINT \"orders_total_check\" CHECK (total >= 0) NOT VALID",
        )
        .unwrap();
        assert!(planned.may_be_unvalidated);
        let found = "CHECK ((total >= (0)::numeric)) NOT VALID";
        assert_eq!(
            decide(&planned, &present(found, false)),
            Decision::AlreadyDone
        );
        assert_eq!(
            decide(&planned, &present("CHECK ((total >= (0)::numeric))", true)),
            Decision::AlreadyDone
        );
        let validated = constraint_of(
            "ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0)",
        )
        .unwrap();
        assert_eq!(
            decide(&validated, &present(found, false)),
            Decision::DropInvalidThenRun
        );
    }

    #[test]
    fn server_definitions_match_planned_ones() {
        let cases: &[(&str, &str)] = &[
            (PLANNED_INDEX, SERVER_INDEX),
            (
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"due_idx\" ON \"billing\".\"invoices\" USING btree (\"customer_id\", \"status\") WHERE status = 'open'",
                "CREATE UNIQUE INDEX due_idx ON billing.invoices USING btree (customer_id, status) WHERE (status = 'open'::text)",
            ),
            (
                "FOREIGN KEY (\"customer_id\") REFERENCES \"customers\" (\"id\") NOT VALID",
                "FOREIGN KEY (customer_id) REFERENCES customers(id)",
            ),
            (
                "FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE NO ACTION",
                "FOREIGN KEY (customer_id) REFERENCES public.customers(id)",
            ),
            (
                "CHECK (\"total\" IS NOT NULL)",
                "CHECK ((total IS NOT NULL)) NOT VALID",
            ),
            (
                "CREATE INDEX CONCURRENTLY \"users_lower_idx\" ON \"users\" ((lower(email)) COLLATE \"C\" DESC) INCLUDE (\"id\") WITH (fillfactor = '70') TABLESPACE \"fast\" WHERE email IS NOT NULL",
                "CREATE INDEX users_lower_idx ON public.users USING btree (lower(email) COLLATE \"C\" DESC) INCLUDE (id) WITH (fillfactor='70') WHERE (email IS NOT NULL)",
            ),
            (
                "CHECK (note <> '')",
                "CHECK ((note <> ''::character varying))",
            ),
            (
                "CREATE TRIGGER \"bellows_sync_orders_total\" BEFORE INSERT OR UPDATE ON \"orders\" FOR EACH ROW EXECUTE FUNCTION \"bellows_sync_orders_total\"()",
                "CREATE TRIGGER bellows_sync_orders_total BEFORE INSERT OR UPDATE ON public.orders FOR EACH ROW EXECUTE FUNCTION bellows_sync_orders_total()",
            ),
            // A sync's UPDATE trigger, and its INSERT trigger whose name needs quoting.
            (
                "CREATE TRIGGER \"bellows_sync_t_b\" BEFORE UPDATE ON \"t\" FOR EACH ROW WHEN (NOT (NEW.\"b\" IS DISTINCT FROM OLD.\"b\") OR NOT (NEW.\"a\" IS DISTINCT FROM OLD.\"a\")) EXECUTE FUNCTION \"bellows_sync_t_b\"()",
                "CREATE TRIGGER bellows_sync_t_b BEFORE UPDATE ON public.t FOR EACH ROW WHEN (((NOT (new.b IS DISTINCT FROM old.b)) OR (NOT (new.a IS DISTINCT FROM old.a)))) EXECUTE FUNCTION bellows_sync_t_b()",
            ),
            (
                "CREATE TRIGGER \"bellows_sync_t_b$insert\" BEFORE INSERT ON \"t\" FOR EACH ROW EXECUTE FUNCTION \"bellows_sync_t_b\"()",
                "CREATE TRIGGER \"bellows_sync_t_b$insert\" BEFORE INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION bellows_sync_t_b()",
            ),
        ];
        for (planned, found) in cases {
            assert!(same_definition(planned, found), "{planned}\n  vs {found}");
        }
    }

    #[test]
    fn a_constraint_attached_from_an_index_matches_its_kind() {
        let unique = constraint_of(
            r#"ALTER TABLE "users" ADD CONSTRAINT "users_email_key" UNIQUE USING INDEX "users_email_key""#,
        )
        .unwrap();
        assert_eq!(unique.name, "users_email_key");
        assert!(same_definition(&unique.definition, "UNIQUE (email)"));
        assert!(!same_definition(&unique.definition, "PRIMARY KEY (email)"));
        assert!(!same_definition(
            &unique.definition,
            "CHECK ((email <> ''::text))"
        ));
        let key = constraint_of(
            r#"ALTER TABLE "events" ADD CONSTRAINT "events_pkey" PRIMARY KEY USING INDEX "events_pkey""#,
        )
        .unwrap();
        assert!(same_definition(&key.definition, "PRIMARY KEY (code, seq)"));
        assert!(!same_definition(&key.definition, "UNIQUE (code, seq)"));
    }

    #[test]
    fn different_definitions_do_not_match() {
        let cases: &[(&str, &str)] = &[
            (SERVER_INDEX, "CREATE INDEX orders_customer_id_idx ON public.orders USING btree (qty)"),
            (SERVER_INDEX, "CREATE UNIQUE INDEX orders_customer_id_idx ON public.orders USING btree (customer_id)"),
            (SERVER_INDEX, "CREATE INDEX orders_customer_id_idx ON public.orders USING hash (customer_id)"),
            (SERVER_INDEX, "CREATE INDEX orders_customer_id_idx ON billing.orders USING btree (customer_id)"),
            ("CHECK (total >= 0)", "CHECK ((total > (0)::numeric))"),
            ("CHECK (note <> 'A')", "CHECK ((note <> 'a'::text))"),
            (
                "FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE",
                "FOREIGN KEY (customer_id) REFERENCES customers(id)",
            ),
            ("CHECK (\"Total\" > 0)", "CHECK ((total > 0))"),
        ];
        for (planned, found) in cases {
            assert!(!same_definition(planned, found), "{planned}\n  vs {found}");
        }
    }

    #[test]
    fn statements_name_their_object() {
        let cases: &[(&str, ObjectKind, &str)] = &[
            (PLANNED_INDEX, ObjectKind::Index, "orders_customer_id_idx"),
            (
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"billing\".\"Due\" ON x (a)",
                ObjectKind::Index,
                "Due",
            ),
            (
                "ALTER TABLE \"public\".\"orders\" ADD CONSTRAINT \"orders_customer_id_fkey\" FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID",
                ObjectKind::Constraint,
                "orders_customer_id_fkey",
            ),
            (
                "CREATE TRIGGER bellows_sync_orders_total BEFORE INSERT ON public.orders FOR EACH ROW EXECUTE FUNCTION f()",
                ObjectKind::Trigger,
                "bellows_sync_orders_total",
            ),
            (
                "CREATE TRIGGER \"bellows_sync_t_b$insert\" BEFORE INSERT ON \"t\" FOR EACH ROW EXECUTE FUNCTION \"bellows_sync_t_b\"()",
                ObjectKind::Trigger,
                "bellows_sync_t_b$insert",
            ),
        ];
        for (sql, kind, name) in cases {
            let object = object_of(sql).unwrap_or_else(|| panic!("no object in {sql}"));
            assert_eq!((object.kind, object.name.as_str()), (*kind, *name), "{sql}");
        }
        let constraint = constraint_of(cases[2].0).unwrap();
        assert_eq!(
            constraint.definition,
            "FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID"
        );
        for sql in [
            "ALTER TABLE orders ALTER COLUMN total SET NOT NULL",
            "DROP INDEX CONCURRENTLY IF EXISTS x",
            "CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $$ BEGIN END $$",
        ] {
            assert_eq!(object_of(sql), None, "{sql}");
        }
    }

    #[test]
    fn dropping_statements_name_their_object() {
        let cases = [
            (
                "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"orders_note_idx\"",
                ObjectKind::Index,
                "orders_note_idx",
            ),
            (
                "DROP TRIGGER IF EXISTS \"bellows_sync_x\" ON \"orders\"",
                ObjectKind::Trigger,
                "bellows_sync_x",
            ),
            (
                "ALTER TABLE \"orders\" DROP CONSTRAINT IF EXISTS \"orders_fk\"",
                ObjectKind::Constraint,
                "orders_fk",
            ),
            (
                "ALTER TABLE orders DROP CONSTRAINT orders_fk",
                ObjectKind::Constraint,
                "orders_fk",
            ),
        ];
        for (sql, kind, name) in cases {
            let object = dropped_by(sql).unwrap_or_else(|| panic!("{sql}"));
            assert_eq!(
                (object.kind, object.name.as_str(), object.intent),
                (kind, name, Intent::Drop),
                "{sql}"
            );
        }
        assert_eq!(dropped_by("ALTER TABLE orders DROP COLUMN note"), None);
        assert_eq!(dropped_by("DROP FUNCTION IF EXISTS bellows_f()"), None);
    }

    #[test]
    fn normalizing_keeps_literals_and_quoted_names() {
        assert_eq!(
            normalize("WHERE  status = 'Open  Now'"),
            "where status='Open  Now'"
        );
        assert_eq!(normalize("\"Mixed\".\"x\""), "\"Mixed\".x");
        assert_eq!(normalize("a::numeric(12, 2);"), "a::numeric(12,2)");
        assert_eq!(fingerprint("(a)::timestamp with time zone > b"), "a>b");
        assert_eq!(fingerprint("x::text[] = y"), "x=y");
    }
}
