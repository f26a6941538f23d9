//! Finding identities and definitions in a note's math.
//!
//! Each math span is split into statements (at `\\` rows of `align`-like
//! environments, `\implies`, `\quad`, `;`, words in `\text{}` and commas between
//! relations); each statement into members at its top-level relations. A chain of
//! `=` with a derivative in some member is an identity; `name = expr` without a
//! derivative is a definition; `x \in \mathbb{R}^n` is a declaration of kind.
//!
//! # Conventions
//!
//! - Definitions made earlier in the note (or in front matter) are substituted, and
//!   so are those made right after an identity (`..., where $z = ...$`: later in its
//!   span, or in the spans that follow it up to the next identity, while the prose
//!   between stays in one paragraph or reads on from it: a paragraph starting in
//!   lower case, `where ...`; a heading or a new sentence ends it). A later row of the
//!   same display (after `\\`) does not complete the rows above it: it concludes
//!   the derivation (`w = K e^{3x}`, the solution of the equations above). If the identity
//!   has no consistent shapes with them but holds with those symbols read as plain
//!   constants (a letter reused later), it passes with a note in the message; a
//!   value mismatch with the definitions is a failure. The latest definition of a
//!   name is in force (a function `J(\mathbf{w}) = ...` replaces a symbol `J = ...`
//!   and vice versa). A definition's body reads entries like an identity does
//!   (`\ell = -\log s_k` with `\mathbf{s}` a vector: its entry k).
//!   A note that defines a name several times (an exercise sheet reusing `f`), or
//!   inside a numbered list item (an exercise defining its own `f`): a
//!   failure that rests on a definition made in an earlier part (before a heading
//!   or a numbered list item) is skipped as ambiguous; a pass stands.
//! - `\nabla f` without a subscript is by the only symbol of `f` (with definitions
//!   in), else by its only bold vector, else by its only bold vector not named as a
//!   constant (`\mathbf{a}`, `\mathbf{b}`, `\mathbf{c}`, `\mathbf{k}`, Greek).
//! - `\nabla \cdot \mathbf{F}` (also `\operatorname{div}`, `\mathrm{div}`,
//!   `\text{div}` before a bold vector, physics' `\div`, `\divergence`) is the
//!   divergence, the trace of the field's Jacobian; `\nabla \times \mathbf{F}`
//!   (`\operatorname{curl}`, `\curl`) the curl, of fields with 3 components only
//!   (others are skipped). The operand is the product that follows (`\nabla \cdot
//!   \mathbf{F} + ...` ends at the `+`). Without a subscript the variable is the
//!   operand's only bold vector not named as a constant, when it names a point
//!   (`\mathbf{x}`, `\mathbf{r}`, `\mathbf{y}`, `\mathbf{z}`, `\mathbf{q}`); a field
//!   the note never writes out (`\nabla \cdot \mathbf{E}`, `\nabla \cdot
//!   (\rho\mathbf{v})`, `\nabla \cdot (f\mathbf{x})` with `f` undefined) is
//!   abstract. `\nabla_{\mathbf{x}} \cdot` names the variable. `\left(\frac{\partial P}{\partial
//!   T}\right)_V` (thermodynamics: V held fixed) is the plain partial when V is
//!   among the symbols of P (with definitions in); else it is skipped.
//! - A derivative by a defined symbol (an intermediate quantity: `\hat{\mathbf{y}} =
//!   X\mathbf{w}`, then `\frac{\partial L}{\partial \hat{\mathbf{y}}}`) reads the
//!   occurrences of its definition in the operand as that symbol, the rest held
//!   fixed; if the operand is not written in terms of it but shares its
//!   definition's symbols, it is skipped (unsupported), not read as a constant.
//! - A condition right after an identity (`= 1, \quad x > 0`, `(x \neq 0)`, or the
//!   next span `$...$ for $x > 0$` when it is about the identity's symbols) is its
//!   domain only: points are sampled where it holds. Other conditions (`\lambda >
//!   0`, `0 < \alpha < 1` elsewhere) hold for the rest of the note, in every later
//!   identity that has all of their symbols. A `cases` condition that uses the
//!   index of a `\sum` in the branches (an index not bound around the `cases`, as in
//!   `\frac{2}{N}\sum_{i=1}^{N} ... & \mathbf{w} \cdot \mathbf{x}_i + b > 0`) holds
//!   for every value of that index (points are sampled where it holds for all i). A
//!   condition written inside one bold group (`\mathbf{w \cdot x_i + b \le 0}`)
//!   reads its letters as the identity's symbols, in their fonts there. An
//!   identity right after a `cases` identity with the same left side (written the
//!   same), with no `cases` of its own, may restate one branch (`e_i = ... \implies
//!   \frac{\partial C}{\partial \mathbf{w}} = ...`): if it is false as stated but
//!   holds under one of those branch conditions, it is skipped (the condition it
//!   leaves out is named), never passed. `S = S^\top` and `\Sigma \in
//!   \mathbb{S}^n` declare symmetric matrices (sampled symmetric); so does prose
//!   right after an identity, for that identity only, in the exact phrasings `$...$
//!   for symmetric $A$` (`with`, `for a`) and `$...$ ($C$ symmetric)` (not a caveat
//!   like `true only for symmetric $X$`).
//! - An evaluation bar `\Big|_{x=a}` / `\left. ... \right|_{x=a}` after a member
//!   evaluates it at that number.
//! - Implicit differentiation: an equation between letters that defines nothing
//!   (`x^2 + y^2 = 25`, `\sqrt{xy} = 1 + x^2 y`) is a relation; in the same part of the
//!   note, `\frac{dy}{dx}` of a `y` the note does not define, with both letters in the
//!   latest relation, is `-H_x / H_y` (H = lhs - rhs), and points are sampled on the
//!   curve (y solved by Newton's method). A failure there may be about one branch of
//!   the curve only, so it is a skip (`ambiguous`), never a fail.
//! - Index notation: `x^{(i)}`, `a^{[l]}` are training examples (layers), never
//!   powers; inside a sum over i they are the columns of a matrix of examples (a
//!   family used as vectors: bold, with an entry `x_j^{(i)}`, transposed, or next to
//!   a transposed factor `\theta^T x^{(i)}`) or the entries of a vector of examples
//!   (`y^{(i)}`). A derivative by `\theta_j` outside any sum over j, with `\theta`
//!   used whole, is by its entry j for every j, even when a substituted definition
//!   sums over its own j; with several free indices the trials take them equal and
//!   different in turn. `s_i = \frac{e^{z_i}}{\sum_k e^{z_k}}` defines `s`
//!   entry-wise: `s_j` is its body at j, `\mathbf{s}` the vector of its entries. A
//!   derivative by `\theta_0` or `\theta_{\text{old}}` with `\theta` used whole, an
//!   entry at a shifted index `x_{i+1}`, and a numbered feature `x_0^{(i)}` are
//!   skipped (label or entry?).
//! - `\sum_k y_k = 1` (or `\mathbf{1}^T \mathbf{y} = 1`) says y is a probability
//!   vector, prose `a one-hot $y$` / `$y$ is one-hot` a one-hot one (`a probability
//!   vector $p$`: a probability vector): sampled so from there on. An identity that
//!   fails but holds with the weights of a sum of logarithms (`-\sum_k y_k \log
//!   s_k`) sampled as a probability vector, unstated, is skipped naming the
//!   condition.

mod convention;
mod generic;
mod identity;
mod indices;
mod rates;
mod rewrite;
mod scope;
mod stale;
mod statements;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use super::notation::{DEFINITE_WORDS, IMPLICATION_CMDS, NOT_WORDS, ONLY_WORDS, SYMMETRIC_WORDS};
use super::shape::Kind;
use super::syntax::{self, Ctx, Expr, PErr, Sym, Tok};
use super::{Finding, Layout, NoteMath, Otimes, SkipReason};
pub(crate) use convention::stated_layout;
pub(crate) use generic::INSTANCES as GENERIC_INSTANCES;
use identity::statement;
use scope::{cond_mentions, def_head, domain_condition, reads_on, symmetric_decl, uses_symbol};
use statements::statements;

/// An identity ready to check: the members of its `=` chain, parsed and resolved.
#[derive(Debug, Clone)]
pub(crate) struct Ident {
    pub members: Vec<Expr>,
    /// A name the identity uses whose definition in force was made in an earlier part
    /// of the note (under another heading or list item) while the note defines that
    /// name several times (exercises reusing `f`, `y`), or made inside an earlier
    /// numbered list item (an exercise's own `f`): a failure may come from the wrong
    /// one, so it is not reported as a failure.
    pub stale: Option<String>,
    /// Read with letters of its own where the note's earlier definitions of them
    /// bring in a quantity it never gives (`find::stale`): the reading, for a pass,
    /// and the skip the definitions led to, which stands otherwise.
    pub freed: Option<(String, Skip)>,
    /// The members with symbols defined earlier in the note left as constants (when
    /// a definition was used): a safety net for letters reused after a definition.
    pub alt: Option<Vec<Expr>>,
    /// Each member's source text (for messages).
    pub texts: Vec<String>,
    /// Kinds declared in the note (`x \in \mathbb{R}^n`).
    pub decls: BTreeMap<String, Kind>,
    /// The declared symbols whose declaration was made in another part of the note
    /// (under another heading or list item).
    pub decls_elsewhere: BTreeSet<String>,
    /// The functions the note has defined so far (`E(c, a) = ...`).
    pub funcs: BTreeSet<String>,
    /// Declared symbols whose dimensions are named by a letter the identity uses as
    /// a value (`\mathbf{v} \in \mathbb{R}^n`, then `\frac{1}{n}`): the symbol's key
    /// and, per dimension (rows, columns), that letter.
    pub dimnames: Vec<(String, Vec<Option<String>>)>,
    /// Symbols declared positive (`\lambda > 0`).
    pub positive: BTreeSet<String>,
    /// Vectors the note says are probability vectors (`\sum_k y_k = 1`: sampled
    /// with entries in (0, 1) summing to one) or one-hot (`a one-hot $y$`).
    pub simplex: BTreeSet<String>,
    pub onehot: BTreeSet<String>,
    /// Matrices declared symmetric (`S = S^\top`, `\Sigma \in \mathbb{S}^n`).
    pub symmetric: BTreeSet<String>,
    /// Conditions stated right after the identity (`, \quad x > 0`): its domain.
    pub conds: Vec<syntax::Cond>,
    /// Those of `conds` stated on their own in another part of the note (under
    /// another heading or list item): about another function, maybe.
    pub conds_elsewhere: Vec<syntax::Cond>,
    /// Free indices (`\frac{\partial}{\partial x_i} ... = 2x_i`): the identity holds
    /// for every entry `i` of the vector; each trial picks one.
    pub free: Vec<String>,
    /// Defined symbols that are also differentiation variables: their value at a
    /// point is their definition's (in terms of the other symbols).
    pub deps: Vec<(Sym, Expr)>,
    /// Per member: an evaluation bar `\Big|_{x=a}` after it (the symbol's key and
    /// the value it takes there, entry-wise).
    pub bars: Vec<Option<Bar>>,
    /// The branch conditions of a `cases` identity with the same left side just
    /// before this one (which has no `cases`): this one may restate one branch.
    pub branch_conds: Vec<syntax::Cond>,
    /// Matrices the note says this identity needs symmetric ("true only for
    /// symmetric $C$"): a caveat, not an assumption (see `verdict::check_read`).
    pub only_if_symmetric: BTreeSet<String>,
    /// `y` given implicitly by a relation the note states (`x^2 + y^2 = 25`): its
    /// symbol and `H` with the relation `H = 0`; `dy/dx` is `-H_x / H_y`, and points
    /// are sampled on the curve.
    pub implicit: Option<(Sym, Expr)>,
    /// The identity read on earlier relations of the same part, latest first.
    pub implicit_alts: Vec<Ident>,
    /// It writes every letter of that relation as a value (`\frac{dy}{dx} =
    /// -\frac{x}{y}`): a formula along the whole curve, which a failure at every
    /// point of it, on every branch, shows wrong (not `\frac{dy}{dx} = -\frac{2 +
    /// y}{1 + 2y}` written at x = 1).
    pub along_curve: bool,
    /// Why the identity may be an equation for a point (`f'(c) = 0`): then only a
    /// pass (it holds at every point) is a verdict, anything else a skip.
    pub point: Option<String>,
    /// Functions the note never defines, read as arbitrary smooth functions (see
    /// `find::generic`): this identity is their first random instance, `instances`
    /// the others.
    pub generic: Vec<String>,
    pub instances: Vec<Ident>,
    /// Read with quantities varying with the variable (see `find::rates`): the
    /// reading, for the verdict's message; `implicit_alts` are then the same
    /// identity on earlier relations.
    pub rates: Option<String>,
}

/// An evaluation bar: the symbol's key and its value there.
pub(crate) type Bar = (String, f64);

/// Why an identity cannot be checked.
#[derive(Debug, Clone)]
pub(crate) struct Skip {
    pub kind: SkipReason,
    pub message: String,
}

impl From<PErr> for Skip {
    fn from(e: PErr) -> Skip {
        Skip {
            kind: e.kind,
            message: e.msg,
        }
    }
}

#[derive(Debug, Clone)]
enum Def {
    Sym {
        bold: bool,
        upper: bool,
        body: Result<Expr, PErr>,
    },
    Func {
        params: Vec<Sym>,
        body: Result<Expr, PErr>,
    },
}

/// What the note has said so far.
#[derive(Default, Clone)]
struct State {
    syms: BTreeMap<String, Def>,
    funcs: BTreeMap<String, Def>,
    decls: BTreeMap<String, Kind>,
    /// The part of the note that declared each symbol.
    decl_part: BTreeMap<String, usize>,
    /// The dimensions' names of declared symbols (`\mathbb{R}^{m \times n}`: m, n).
    dimnames: BTreeMap<String, Vec<String>>,
    positive: BTreeSet<String>,
    simplex: BTreeSet<String>,
    onehot: BTreeSet<String>,
    symmetric: BTreeSet<String>,
    /// Conditions stated on their own (`0 < \alpha < 1`): they hold for the rest
    /// of the note, in every identity that has all their symbols.
    conds: Vec<syntax::Cond>,
    /// The part of the note that states each of `conds`.
    cond_part: Vec<usize>,
    /// How many definitions were read so far, and the last one's name.
    defs: usize,
    /// The note's parts so far (a heading or a numbered list item starts one), and
    /// for each defined name the part of its latest definition and how many
    /// definitions it has had.
    part: usize,
    def_part: BTreeMap<String, (usize, usize)>,
    /// The parts that are numbered list items (an exercise defines its own `f`).
    item_parts: BTreeSet<usize>,
    /// The parts enclosing this one, with their depth (a heading's level, deeper for a
    /// numbered item): a definition made in one of them holds here.
    enclosing: Vec<(usize, usize)>,
    /// Relations between letters the note states (`x^2 + y^2 = 25`): `lhs - rhs`, the
    /// letters, and the part of the note.
    relations: Vec<(Expr, BTreeSet<String>, usize)>,
    /// The variable of primes on plain letters (`v'`), while `find::generic` reads
    /// them as arbitrary functions of it.
    prime_var: Option<Sym>,
    /// The prose after the span being read says its equations are results (`$y =
    /// ...$ if $m_1 = m_2$`, "is a solution"), not definitions.
    result_said: bool,
    last_def: String,
}

impl State {
    fn func_names(&self) -> BTreeSet<String> {
        self.funcs.keys().cloned().collect()
    }
}

/// Does this prose start a new part of the note: a Markdown heading (`## 5`) or a
/// numbered list item (`2. ...`, an exercise)? The last such line's depth: the
/// heading's level, 7 for a numbered item (inside any heading).
fn starts_part(text: &str) -> Option<usize> {
    let mut out = None;
    for l in text.lines() {
        let l = l.trim_start();
        let hashes = l.chars().take_while(|&c| c == '#').count();
        let digits = l.chars().take_while(char::is_ascii_digit).count();
        if (1..=6).contains(&hashes) && l[hashes..].starts_with(' ') {
            out = Some(hashes);
        } else if (digits > 0 && ITEM_MARKS.iter().any(|m| l[digits..].starts_with(m)))
            || labels_a_problem(l)
        {
            out = Some(ITEM_DEPTH);
        }
    }
    out
}

/// What follows a number that starts a numbered item: `2. `, and the full-width
/// `2．`, `2、` of CJK text.
const ITEM_MARKS: &[&str] = &[". ", "．", "、"];

/// Does a line start with a numbered problem's label (`Example 2.`, `**Exercise
/// 3:**`, `<summary><strong>Problem 1</strong>`, `例4.`), as a numbered item does?
fn labels_a_problem(line: &str) -> bool {
    let mut l = line.trim_start();
    // markup before the label: emphasis, HTML tags, a quote or list marker
    loop {
        let before = l;
        l = l.trim_start_matches(['*', '_', '>', '-', ' ']);
        if l.starts_with('<')
            && let Some(end) = l.find('>')
        {
            l = &l[end + 1..];
        }
        if l == before {
            break;
        }
    }
    let lower = l.to_lowercase();
    PROBLEM_LABELS.iter().any(|w| {
        lower.strip_prefix(w).is_some_and(|rest| {
            let rest = rest.trim_start();
            rest.starts_with(|c: char| c.is_ascii_digit())
                || rest.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                    && rest[1..].starts_with(['.', ':', ')'])
        })
    })
}

/// Words that label a numbered problem or worked example at the start of a line.
const PROBLEM_LABELS: &[&str] = &[
    "example",
    "exercise",
    "problem",
    "question",
    "beispiel",
    "aufgabe",
    "übung",
    "ejemplo",
    "ejercicio",
    "exemple",
    "exercice",
    "例",
    "习题",
    "练习",
];

/// The depth of a part that a numbered list item starts.
const ITEM_DEPTH: usize = 7;

impl State {
    /// Was `part` this one or one enclosing it (or the note's start, before any)?
    fn encloses(&self, part: usize) -> bool {
        part == 0 || part == self.part || self.enclosing.iter().any(|&(_, p)| p == part)
    }
}

/// Front-matter keys that are never definitions.
const META_KEYS: &[&str] = &[
    "layout",
    "otimes",
    "title",
    "tags",
    "tag",
    "aliases",
    "alias",
    "date",
    "created",
    "updated",
    "modified",
    "draft",
    "publish",
    "cssclass",
    "cssclasses",
    "author",
    "status",
    "source",
    "url",
    "type",
    "description",
    "permalink",
    "lang",
    "category",
    "categories",
];

pub(crate) fn find(note: &NoteMath) -> Vec<Finding> {
    let layout = stated_layout(note);
    let otimes = front_otimes(note.front);
    let mut st = State::default();
    front_definitions(&mut st, note.front, layout, otimes);
    let mut out = Vec::new();
    // the identity that ended the previous span: a span holding only a condition
    // right after it (`... = 1$ for $x > 0$`) is that identity's domain
    let mut prev_last: Option<usize> = None;
    // identities that a definition right after them completes (`$\frac{\partial
    // \hat{y}}{\partial z} = \hat{y}(1 - \hat{y})$, where $\hat{y} = \sigma(z)$`):
    // index in `out`, statement, span, span's TeX
    let mut retry: Vec<(usize, Vec<Tok>, usize, &str)> = Vec::new();
    // a note that writes `0,5` writes `1,500` for 1.5 too
    let mut lexed: Vec<Vec<Tok>> = note.spans.iter().map(|s| syntax::lex(s.tex)).collect();
    let decimal = lexed.iter().any(|t| syntax::writes_decimal_comma(t));
    for (si, span) in note.spans.iter().enumerate() {
        st.result_said = note
            .spans
            .get(si + 1)
            .is_some_and(|next| scope::says_result(next.before))
            || scope::names_a_curve(span.before);
        let mut item_start = false;
        if let Some(depth) = starts_part(span.before) {
            st.part += 1;
            st.enclosing.retain(|&(d, _)| d < depth);
            st.enclosing.push((depth, st.part));
            if depth == ITEM_DEPTH {
                st.item_parts.insert(st.part);
                item_start = true;
            }
        }
        // a new paragraph that does not read on from the last one ends what the
        // formulas before it can be completed by
        if !reads_on(span.before) {
            prev_last = None;
            retry.clear();
        }
        let toks = syntax::numeral_commas(std::mem::take(&mut lexed[si]), decimal);
        // `2. $2\sin x - \cos 2x$, ...`: an exercise that states its function
        // (only the item's number before it)
        let bare_item = span
            .before
            .lines()
            .last()
            .map(|l| l.trim().trim_end_matches(['.', ')']))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if item_start && bare_item {
            scope::exercise_function(&mut st, &toks, span.tex);
        }
        let stmts = statements(&toks);
        let de_names: BTreeSet<String> = stmts.iter().flat_map(|s| scope::de_unknowns(s)).collect();
        // `$...$ for symmetric $A$`, `$...$ ($C$ symmetric)`: that identity's matrix
        // is symmetric
        if let Some(k) = prev_last {
            let before = span.before.trim().to_ascii_lowercase();
            let after = note
                .spans
                .get(si + 1)
                .map_or(String::new(), |s| s.before.trim().to_ascii_lowercase());
            let said = says_symmetric(&before, &after);
            let cx = Ctx {
                funcs: &BTreeSet::new(),
                ids: &Cell::new(0),
                src: span.tex,
                depth: Cell::new(0),
            };
            if said
                && let Ok(Expr::Var(m)) = syntax::parse_expr(&toks, &cx)
                && let Some(Finding { body: Ok(id), .. }) = out.get_mut(k)
                && id.members.iter().any(|e| uses_symbol(e, &m.key()))
            {
                id.symmetric.insert(m.key());
                continue;
            }
        }
        // `Let $A$ be symmetric`, `where $A$ is symmetric positive definite`, `$A$ es
        // simétrica`: a sentence around a formula holding only matrices says they are
        // symmetric (and positive definite): for the rest of the note, and for the
        // identity just before when the sentence reads on from it
        if let Some(said) = said_of_symbols(note, si)
            && let Some(names) = symbols_only(&toks, span.tex)
        {
            for m in names {
                let prev = prev_last
                    .filter(|_| reads_on(span.before))
                    .and_then(|k| match out.get_mut(k) {
                        Some(Finding { body: Ok(id), .. }) => Some(id),
                        _ => None,
                    })
                    .filter(|id| id.members.iter().any(|e| uses_symbol(e, &m)));
                if said == Said::Caveat {
                    if let Some(id) = prev {
                        id.only_if_symmetric.insert(m);
                    }
                    continue;
                }
                if let Some(id) = prev {
                    id.symmetric.insert(m.clone());
                    if said == Said::Definite {
                        id.positive.insert(m.clone());
                    }
                }
                st.symmetric.insert(m.clone());
                if said == Said::Definite {
                    st.positive.insert(m);
                }
            }
        }
        // `a one-hot $\mathbf{y}$`, `$y$ is one-hot`: a one-hot vector from here on
        if let Some(onehot) = says_onehot(span.before, note.spans.get(si + 1).map(|s| s.before))
            && let Some(key) = lone_symbol(&toks, span.tex)
        {
            if onehot {
                st.onehot.insert(key);
            } else {
                st.simplex.insert(key);
            }
        }
        if let Some(k) = prev_last.take()
            && !stmts.is_empty()
        {
            let conds: Vec<Result<syntax::Cond, String>> = stmts
                .iter()
                .map_while(|stmt| {
                    domain_condition(&st, stmt, span.tex)
                        .map(Ok)
                        .or_else(|| symmetric_decl(&st, stmt, span.tex).map(Err))
                })
                .collect();
            // a condition about symbols the identity does not have is about
            // what follows (`$...$. For $\lambda > 0$: ...`): read as usual
            let about_it = match out.get(k).map(|f: &Finding| &f.body) {
                Some(Ok(id)) => conds.iter().all(|c| match c {
                    Ok(c) => cond_mentions(id, c),
                    Err(_) => true,
                }),
                _ => true,
            };
            if conds.len() == stmts.len() && about_it {
                for c in conds {
                    let found = out
                        .get_mut(k)
                        .and_then(|f: &mut Finding| f.body.as_mut().ok());
                    match c {
                        Ok(c) => {
                            if let Some(id) = found {
                                id.conds.push(c);
                            }
                        }
                        Err(m) => {
                            if let Some(id) = found {
                                id.symmetric.insert(m.clone());
                            }
                            // a symmetric matrix stays symmetric for the rest of the note
                            st.symmetric.insert(m);
                        }
                    }
                }
                prev_last = Some(k);
                continue;
            }
        }
        let mut last: Option<usize> = None;
        // `P \Rightarrow y = ...`: what follows an implication of an identity is a
        // consequence, not a definition to check that identity against
        let arrows: Vec<usize> = toks
            .iter()
            .filter(|t| IMPLICATION_CMDS.iter().any(|c| t.is_cmd(c)))
            .map(|t| t.start)
            .collect();
        let span_result = st.result_said;
        for stmt in stmts {
            // (after an identity: `\Rightarrow f(t) = ...` after a condition defines f)
            st.result_said = span_result
                || last.is_some()
                    && stmt
                        .first()
                        .is_some_and(|t| arrows.iter().any(|&a| a < t.start));
            // `= 1, \quad x > 0`: a condition right after an identity is its domain
            // (for that identity only, not a fact for the rest of the note)
            if let Some(k) = last
                && let Some(c) = domain_condition(&st, &stmt, span.tex)
            {
                if let Some(Finding { body: Ok(id), .. }) = out.get_mut(k) {
                    id.conds.push(c);
                }
                continue;
            }
            // `..., \quad A = A^\top`: a symmetric matrix, from that identity on
            if let Some(k) = last
                && let Some(m) = symmetric_decl(&st, &stmt, span.tex)
            {
                if let Some(Finding { body: Ok(id), .. }) = out.get_mut(k) {
                    id.symmetric.insert(m.clone());
                }
                st.symmetric.insert(m);
                continue;
            }
            let before = out.len();
            let defs = st.defs;
            statement(&mut st, &stmt, span.tex, si, layout, otimes, &mut out);
            last = (out.len() > before).then(|| out.len() - 1);
            // `Set $f''(x) = 0$`, `$f''(x) = 0$ when $x = 0$`: an equation to solve
            // (only a pass, holding everywhere, is a verdict)
            if out.len() > before
                && let Some(Finding { body: Ok(id), .. }) = out.last_mut()
                && id.point.is_none()
            {
                let to_number = id.members.last().is_some_and(|m| {
                    !m.any(&|x| matches!(x, Expr::Var(_) | Expr::Deriv(..) | Expr::Apply(..)))
                });
                let after = note.spans.get(si + 1).map_or("", |s| s.before);
                if scope::says_equation(span.before, after, to_number) {
                    id.point = Some(
                        "an equation the prose around it sets up to solve (\"set\", \"when\", \
                         \"where\")"
                            .to_string(),
                    );
                }
            }
            // an identity about the unknown of a differential equation this display
            // writes (`q' - kq = 0`, then `\frac{d}{dx}(e^{-kx} q) = 0`): it holds
            // for the solutions only
            if out.len() > before
                && let Some(Finding { body, .. }) = out.last_mut()
                && let Ok(id) = body
                && id.implicit.is_none()
                && id.rates.is_none()
                && let Some(y) = de_names.iter().find(|y| {
                    !st.syms.contains_key(*y) && id.members.iter().any(|m| uses_symbol(m, y))
                })
            {
                *body = Err(Skip {
                    kind: SkipReason::Abstract,
                    message: format!(
                        "{y} is the unknown of the differential equation in this formula: \
                         this holds for its solutions only"
                    ),
                });
            }
            if out.len() > before {
                // a new identity ends the reach of the earlier spans' definitions
                retry.retain(|r| r.2 == si);
                retry.push((before, stmt.clone(), si, span.tex));
            } else if st.defs != defs {
                let name = st.last_def.clone();
                let def_start = stmt.first().map_or(0, |t| t.start);
                for (k, stmt, sj, src) in &retry {
                    // a later row of the same display (`\\` between them) concludes
                    // the derivation (`y = C_1 e^{x} + C_2`, the solution of the
                    // equations above), it does not say what they meant
                    let row_after = *sj == si
                        && stmt.last().is_some_and(|t| {
                            src.get(t.end..def_start)
                                .is_some_and(|gap| gap.contains("\\\\"))
                        });
                    if row_after {
                        continue;
                    }
                    // a display that writes a differential equation for the name
                    // (`y' - \alpha y = C e^{\alpha x}`) derives with it as the unknown:
                    // the solution stated after it does not say what its rows meant
                    let toks = syntax::lex(src);
                    if statements(&toks)
                        .iter()
                        .any(|s| scope::de_unknowns(s).contains(&name))
                    {
                        continue;
                    }
                    let uses = match out.get(*k).map(|f: &Finding| &f.body) {
                        // (read with arbitrary functions or varying quantities:
                        // perhaps for want of this definition)
                        Some(Ok(id)) => {
                            id.members.iter().any(|m| uses_symbol(m, &name))
                                || id.generic.contains(&name)
                                || id.rates.is_some()
                        }
                        Some(Err(s)) => s.kind == SkipReason::Abstract,
                        None => false,
                    };
                    if !uses {
                        continue;
                    }
                    let mut again = Vec::new();
                    statement(&mut st, stmt, src, *sj, layout, otimes, &mut again);
                    if let Some(f) = again.pop()
                        && !matches!(&f.body, Err(s) if s.kind == SkipReason::Abstract)
                        && let Some(slot) = out.get_mut(*k)
                    {
                        *slot = f;
                    }
                }
            }
        }
        prev_last = last;
    }
    restated_branches(&mut out);
    out
}

/// The note's meaning of `\otimes` (front matter `otimes:`), if it names one.
fn front_otimes(front: &BTreeMap<String, String>) -> Option<Otimes> {
    front
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("otimes"))
        .and_then(|(_, v)| Otimes::named(v))
}

/// Definitions in the front matter (`y: x^2`, `f: f(x) = ...`).
fn front_definitions(
    st: &mut State,
    front: &BTreeMap<String, String>,
    layout: Option<Layout>,
    otimes: Option<Otimes>,
) {
    for (k, v) in front {
        if META_KEYS.contains(&k.to_ascii_lowercase().as_str()) {
            continue;
        }
        let v = v.trim().trim_matches('$').trim();
        let text = if v.contains('=') {
            v.to_string()
        } else if k.len() <= 24 && !k.contains(' ') && looks_like_symbol(k) {
            format!("{k} = {v}")
        } else {
            continue;
        };
        let toks = syntax::lex(&text);
        for stmt in statements(&toks) {
            let _ = statement(
                st,
                &stmt,
                &text,
                usize::MAX,
                layout,
                otimes,
                &mut Vec::new(),
            );
        }
    }
}

/// Whether the prose around a formula holding only a matrix says it is symmetric:
/// `for symmetric $A$`, `($C$ symmetric)`. Only these exact phrasings: an
/// assumption, not a caveat ("true only for symmetric $X$" says the identity is
/// false in general).
fn says_symmetric(before: &str, after: &str) -> bool {
    let before = before.split_whitespace().collect::<Vec<_>>().join(" ");
    matches!(
        before.as_str(),
        "for symmetric"
            | "with symmetric"
            | "for a symmetric"
            | "with a symmetric"
            | "(for symmetric"
            | "(symmetric"
            | "(with symmetric"
    ) || (matches!(before.as_str(), "(" | "for" | "with" | "where")
        && (after.starts_with("symmetric") || after.starts_with("is symmetric")))
}

/// What a sentence says of the matrices in a formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    Symmetric,
    Definite,
    /// The identity before needs it: "true only for symmetric $C$".
    Caveat,
}

/// What the sentence around span `si` says of it: symmetric, positive definite
/// (words of [`SYMMETRIC_WORDS`], [`DEFINITE_WORDS`]), unless it says the opposite
/// ([`NOT_WORDS`]), or a caveat about the identity before ([`ONLY_WORDS`]). The sentence is the prose from the last
/// sentence end before the span to the first one after it.
fn said_of_symbols(note: &NoteMath, si: usize) -> Option<Said> {
    let before = note.spans.get(si)?.before;
    let after = note.spans.get(si + 1).map_or("", |s| s.before);
    let ends = |c: char| matches!(c, '.' | '!' | '?' | '。' | ';' | '\n');
    let start = before
        .char_indices()
        .rfind(|(_, c)| ends(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let head = before[start..].to_lowercase();
    let stop = after.find(|c: char| ends(c)).unwrap_or(after.len());
    let tail = after[..stop].to_lowercase();
    let sentence = format!("{head} $ {tail}");
    if NOT_WORDS.iter().any(|w| sentence.contains(w)) {
        return None;
    }
    let symmetric = DEFINITE_WORDS
        .iter()
        .chain(SYMMETRIC_WORDS)
        .any(|w| sentence.contains(w));
    if ONLY_WORDS.iter().any(|w| sentence.contains(w)) {
        return symmetric.then_some(Said::Caveat);
    }
    if DEFINITE_WORDS.iter().any(|w| sentence.contains(w)) {
        Some(Said::Definite)
    } else if SYMMETRIC_WORDS.iter().any(|w| sentence.contains(w)) {
        Some(Said::Symmetric)
    } else {
        None
    }
}

/// The matrices a formula holds when it holds nothing else (`A`, `A, B`,
/// `\Sigma`): their keys.
fn symbols_only(toks: &[Tok], src: &str) -> Option<Vec<String>> {
    let cx = Ctx {
        funcs: &BTreeSet::new(),
        ids: &Cell::new(0),
        src,
        depth: Cell::new(0),
    };
    let mut out = Vec::new();
    for part in toks.split(|t| t.is_ch(',')) {
        match syntax::parse_expr(part, &cx) {
            Ok(Expr::Var(m)) if m.upper || !m.bold => out.push(m.key()),
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// An identity right after a `cases` identity with the same left side (the same
/// derivative, written the same), without a `cases` of its own, may restate one
/// branch (`\implies \frac{\partial C}{\partial \mathbf{w}} = ...`): it gets that
/// identity's branch conditions (see [`Ident::branch_conds`]).
fn restated_branches(out: &mut [Finding]) {
    let norm = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let mut last: Option<(String, Vec<syntax::Cond>)> = None;
    for f in out.iter_mut() {
        let Ok(id) = &mut f.body else {
            last = None;
            continue;
        };
        let (Some(lhs), Some(first)) = (id.texts.first(), id.members.first()) else {
            last = None;
            continue;
        };
        let lhs = norm(lhs);
        let cases: Vec<syntax::Cond> = id.members[1..]
            .iter()
            .filter_map(|m| match m {
                Expr::Cases(_, brs) => Some(brs),
                _ => None,
            })
            .flatten()
            .filter(|(_, c)| !matches!(c, syntax::Cond::Always))
            .map(|(_, c)| c.clone())
            .collect();
        if !cases.is_empty() && matches!(first, Expr::Deriv(..)) {
            last = Some((lhs, cases));
            continue;
        }
        match &last {
            Some((l, cs)) if *l == lhs => id.branch_conds = cs.clone(),
            _ => last = None,
        }
    }
}

fn looks_like_symbol(k: &str) -> bool {
    let toks = syntax::lex(k);
    let ids = Cell::new(0);
    let funcs = BTreeSet::new();
    let cx = Ctx {
        funcs: &funcs,
        ids: &ids,
        src: k,
        depth: Cell::new(0),
    };
    matches!(syntax::parse_expr(&toks, &cx), Ok(Expr::Var(_))) || def_head(&toks, &cx).is_some()
}

/// Whether the prose around a formula says it is a one-hot vector (`Some(true)`:
/// `a one-hot $y$`, `$y$ is one-hot`) or a probability vector (`Some(false)`: `a
/// probability vector $p$`, `$p$ is a probability vector`).
fn says_onehot(before: &str, after: Option<&str>) -> Option<bool> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '\n'], " ");
    let before = norm(before);
    let before = before.trim_end();
    let after = after.map(norm).unwrap_or_default();
    let after = after.trim_start();
    let tail = |b: &str, words: &[&str]| words.iter().any(|w| b.ends_with(w));
    let head = |a: &str, words: &[&str]| words.iter().any(|w| a.starts_with(w));
    const ONE_HOT_BEFORE: &[&str] = &[
        "one hot",
        "one hot vector",
        "one hot label",
        "one hot target",
        "one hot encoded",
    ];
    const ONE_HOT_AFTER: &[&str] = &[
        "is one hot",
        "is a one hot",
        "be one hot",
        "(one hot",
        "is one hot encoded",
    ];
    const PROB_BEFORE: &[&str] = &[
        "probability vector",
        "probability distribution",
        "distribution",
    ];
    const PROB_AFTER: &[&str] = &[
        "is a probability vector",
        "is a probability distribution",
        "sums to one",
        "sums to 1",
    ];
    if tail(before, ONE_HOT_BEFORE) || head(after, ONE_HOT_AFTER) {
        Some(true)
    } else if tail(before, PROB_BEFORE) || head(after, PROB_AFTER) {
        Some(false)
    } else {
        None
    }
}

/// The key of a formula that is a single symbol (`y`, `\mathbf{y}`).
fn lone_symbol(toks: &[Tok], src: &str) -> Option<String> {
    let cx = Ctx {
        funcs: &BTreeSet::new(),
        ids: &Cell::new(0),
        src,
        depth: Cell::new(0),
    };
    match syntax::parse_expr(toks, &cx) {
        Ok(Expr::Var(s)) if !s.upper && s.sub.is_none() => Some(s.key()),
        _ => None,
    }
}
