//! The renderer on the seed note and on every rewrite, one by one.

use super::*;

fn inline(tex: &str) -> String {
    render(tex, MathMode::Inline).unwrap_or_else(|e| panic!("{tex:?}: {}", e.message))
}

fn display(tex: &str) -> String {
    render(tex, MathMode::Display).unwrap_or_else(|e| panic!("{tex:?}: {}", e.message))
}

fn norm(tex: &str) -> String {
    normalize(tex, MathMode::Display).expect("normalizes")
}

/// The rendered formula without its annotation (which holds the TeX source).
fn body(mathml: &str) -> &str {
    match mathml.find("<annotation") {
        Some(at) => &mathml[..at],
        None => mathml,
    }
}

fn assert_clean(tex: &str, mathml: &str) {
    assert!(mathml.starts_with("<math"), "{tex:?}: {mathml}");
    assert!(mathml.ends_with("</math>"), "{tex:?}: {mathml}");
    assert!(!mathml.contains("merror"), "{tex:?}: {mathml}");
    assert!(!mathml.contains("&amp;nbsp;"), "{tex:?}: {mathml}");
    assert!(!mathml.contains("&nbsp;"), "{tex:?}: {mathml}");
    assert!(!body(mathml).contains("menv-with-eqn"), "{tex:?}: {mathml}");
    assert!(!body(mathml).contains("(1)"), "{tex:?}: {mathml}");
}

// ---- the seed note --------------------------------------------------------------------

/// Every `$$…$$` and `$…$` span of a note, with a deliberately simple scanner.
fn math_spans(text: &str) -> Vec<(MathMode, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '$' => {
                let display = chars.get(i + 1) == Some(&'$');
                let start = if display { i + 2 } else { i + 1 };
                let mut j = start;
                let end = loop {
                    if j >= chars.len() {
                        break None;
                    }
                    if chars[j] == '\\' {
                        j += 2;
                        continue;
                    }
                    if chars[j] == '$' && (!display || chars.get(j + 1) == Some(&'$')) {
                        break Some(j);
                    }
                    j += 1;
                };
                let Some(end) = end else { break };
                let tex: String = chars[start..end].iter().collect();
                let mode = if display {
                    MathMode::Display
                } else {
                    MathMode::Inline
                };
                spans.push((mode, tex));
                i = if display { end + 2 } else { end + 1 };
            }
            _ => i += 1,
        }
    }
    spans
}

#[test]
fn renders_every_formula_of_the_seed_note() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/seed/matrix-calculus.md"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{path} is missing: the seed note is needed under CI"
        );
        println!("skipped: {path} not found");
        return;
    };
    let spans = math_spans(&text);
    assert_eq!(spans.len(), 56, "span count of the seed note");
    let started = std::time::Instant::now();
    for (mode, tex) in &spans {
        let mathml = render(tex, *mode).unwrap_or_else(|e| panic!("{tex:?} failed: {}", e.message));
        assert_clean(tex, &mathml);
        match mode {
            MathMode::Display => assert!(mathml.starts_with("<math display=\"block\">")),
            MathMode::Inline => assert!(mathml.starts_with("<math display=\"inline\">")),
        }
        if tex.contains("\\mathbf{x}") {
            // pulldown-latex writes bold letters as Mathematical Bold code points.
            assert!(body(&mathml).contains('𝐱'), "{tex:?}: {mathml}");
        }
        assert!(!body(&mathml).contains("\\"), "{tex:?}: {mathml}");
    }
    println!(
        "rendered {} seed formulas in {:?}",
        spans.len(),
        started.elapsed()
    );
}

// ---- normalisations, one by one -------------------------------------------------------

#[test]
fn arrays_with_more_cells_than_columns_are_widened() {
    assert_eq!(
        norm(r"\begin{array}{cc} a & b & c \\ d & e \end{array}"),
        r"\begin{array}{ccc} a & b & c \\ d & e \end{array}"
    );
    assert_eq!(spec_columns("c|c"), 2);
    assert_eq!(spec_columns("*{3}{c}|p{2cm}@{,}l"), 5);
    for tex in [
        r"\begin{array}{cc} a & b & c \\ d & e & f \end{array}",
        r"\begin{array}{} a & b \end{array}",
        r"\left(\begin{array}{c|c} 1 & 0 & 2 \end{array}\right)",
    ] {
        assert_clean(tex, &display(tex));
    }
    assert_eq!(
        norm(r"\begin{array}[t]{c c} a & b \end{array}"),
        r"\begin{array}{cc} a & b \end{array}"
    );
    assert_clean("C", &display(r"\begin{array}{C} a \end{array}"));
    // A spec with room to spare is left alone.
    assert_eq!(
        norm(r"\begin{array}{lcr} a & b \end{array}"),
        r"\begin{array}{lcr} a & b \end{array}"
    );
}

#[test]
fn commutative_diagrams_become_arrays() {
    let tex = r"\begin{CD} A @>f>> B \\ @VgVV @VVhV \\ C @>>k> D \end{CD}";
    assert_eq!(
        cd_to_array(r" A @>f>> B \\ @VgVV @VVhV \\ C @>>k> D "),
        r"\begin{array}{ccc}A & \xrightarrow[]{f} & B \\ {\scriptstyle g}\Big\downarrow{\scriptstyle } &  & {\scriptstyle }\Big\downarrow{\scriptstyle h} \\ C & \xrightarrow[k]{} & D\end{array}"
    );
    let mathml = display(tex);
    assert_clean(tex, &mathml);
    assert!(body(&mathml).contains("↓"), "{mathml}");
    for tex in [
        r"\begin{CD} A @<<< B @= C \end{CD}",
        r"\begin{CD} A @. B \\ @AAA @| \\ C @>{\text{long label}}>> D \end{CD}",
    ] {
        assert_clean(tex, &display(tex));
    }
}

#[test]
fn bra_ket_notation_renders_through_the_built_in_macros() {
    let mut macros = crate::tex::macros::Macros::builtin();
    for tex in [
        r"\ket{\psi}",
        r"\bra{\phi}",
        r"\braket{\phi|\psi}",
        r"\ketbra{0}{1}",
    ] {
        let expanded = macros
            .expand(tex)
            .ok()
            .flatten()
            .map(|e| e.tex)
            .unwrap_or_else(|| tex.to_owned());
        assert_clean(tex, &display(&expanded));
    }
}

#[test]
fn angle_brackets_written_as_less_and_greater_than() {
    assert_eq!(
        norm(r"\left< u, v \right>"),
        r"\left\langle u, v \right\rangle"
    );
    assert_eq!(norm(r"\bigl< x \bigr>"), r"\bigl\langle x \bigr\rangle");
    assert_clean("<", &display(r"\left< u, v \right> < 1"));
    assert_eq!(norm(r"\left( a < b \right)"), r"\left( a < b \right)");
}

#[test]
fn middle_delimiters_are_well_formed() {
    let mathml = display(r"\left\langle a \middle| b \right\rangle");
    assert!(!mathml.contains("\"minsize"), "{mathml}");
    assert!(mathml.contains("\" minsize="), "{mathml}");
}

#[test]
fn an_escaped_dollar_renders() {
    assert_clean(r"p = 5\$", &display(r"p = 5\$"));
}

#[test]
fn size_commands_are_dropped() {
    assert_eq!(norm(r"\Huge{0}"), "{0}");
    for size in vocab::SIZE_COMMANDS {
        let tex = format!("a \\{size} b");
        assert_clean(&tex, &display(&tex));
    }
    // Only whole control words are matched.
    assert_eq!(norm(r"\Hugeish x"), r"\Hugeish x");
    // Nor is text touched.
    assert!(inline(r"\text{\Huge 0}").contains("<mtext>0</mtext>"));
    // Dropping a word does not glue its neighbours together.
    assert_eq!(norm(r"\alpha\Huge b"), r"\alpha b");
}

#[test]
fn flalign_becomes_align_star() {
    let tex = r"\begin{flalign*} a &= b && \\ &= c \end{flalign*}";
    assert_eq!(norm(tex), r"\begin{align*} a &= b && \\ &= c \end{align*}");
    assert_clean(tex, &display(tex));
    let tex = r"\begin{flalign} a &= b \end{flalign}";
    assert_clean(tex, &display(tex));
    assert!(display(tex).contains("menv-align"));
}

#[test]
fn control_space_and_tilde_are_real_spaces() {
    for tex in [r"a\ b", "a~b", "a\\\nb", r"a \space b", r"a\nobreakspace b"] {
        let mathml = inline(tex);
        assert_clean(tex, &mathml);
        assert!(
            mathml.contains("<mspace width=\"0.3333em\""),
            "{tex:?}: {mathml}"
        );
    }
    // In text they are spaces too (pulldown-latex shows text verbatim).
    let mathml = inline(r"\text{a\ b~c}");
    assert!(mathml.contains("<mtext>a b\u{a0}c</mtext>"), "{mathml}");
}

#[test]
fn equation_wrapper_is_stripped() {
    let tex = r"x = \begin{equation} \begin{cases} 0 & a \\ 1 & b \end{cases} \end{equation}";
    let mathml = inline(tex);
    assert_clean(tex, &mathml);
    assert!(mathml.contains("menv-cases"));
    for tex in [
        r"\begin{equation} x \end{equation}",
        r"\begin{equation*} x \end{equation*}",
    ] {
        assert_eq!(norm(tex).trim(), "x");
        assert_clean(tex, &inline(tex));
        assert_clean(tex, &display(tex));
    }
}

#[test]
fn numbered_environments_are_unnumbered() {
    for (tex, class) in [
        (r"\begin{align} a &= b \\ &= c \end{align}", "menv-align"),
        (r"\begin{gather} a \\ b \end{gather}", "<mtable"),
        (
            r"\begin{alignat}{2} a &= b & c &= d \end{alignat}",
            "<mtable",
        ),
        (r"\begin{multline*} a \\ b \end{multline*}", "menv-multline"),
        (
            r"\begin{eqnarray} a &=& b \\ c &=& d \end{eqnarray}",
            "<mtable",
        ),
    ] {
        let mathml = display(tex);
        assert_clean(tex, &mathml);
        assert!(mathml.contains(class), "{tex:?}: {mathml}");
    }
}

#[test]
fn big_operators_as_binary_operators() {
    let mathml = inline(r"f \, \bigcirc \, g");
    assert!(mathml.contains("<mo>◯</mo>"), "{mathml}");
    let mathml = inline(r"\mathbf{w \bigotimes x}");
    assert!(mathml.contains('⨂'), "{mathml}");
    assert_clean("", &mathml);
}

#[test]
fn commands_pulldown_already_handles_are_untouched() {
    let untouched = [
        r"a \implies b",
        r"a \qquad b",
        r"a \, b \; c \! d",
        r"\operatorname{diag}(x)",
        r"\text{sum}(x)",
        r"\mathrm{d}x",
        r"\boldsymbol{\theta}",
        r"\vec{v} + \vec0",
        r"\lVert x \rVert",
        r"\|x\|",
        r"A^\top",
        r"\mathsf{T}",
        r"\left( \frac{1}{2} \right)",
        r"\big( x \big)",
        r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}",
        r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}",
        r"\begin{cases} a & b \\ c & d \end{cases}",
        r"\begin{aligned} a &= b \\ &= c \end{aligned}",
        r"\begin{align*} a &= b && \text{note} \\ &= c \end{align*}",
        r"\dfrac{1}{2} \tfrac{1}{2}",
        r"\nabla f",
        r"\partial_x f",
        r"\sum_{i=1}^n x_i",
        r"\mathbf{w \cdot x}",
    ];
    for tex in untouched {
        assert_eq!(norm(tex), tex);
        assert_clean(tex, &display(tex));
        assert_clean(tex, &inline(tex));
    }
}

#[test]
fn mathbf_is_bold() {
    let mathml = inline(r"\mathbf{x} + \mathbf{W}");
    assert!(mathml.contains('𝐱') && mathml.contains('𝐖'), "{mathml}");
}

#[test]
fn bm_becomes_boldsymbol() {
    assert_eq!(
        norm(r"\bm{x} + \bm\alpha"),
        r"\boldsymbol{x} + \boldsymbol\alpha"
    );
    assert_eq!(norm(r"\pmb{x}"), r"\boldsymbol{x}");
    assert!(inline(r"\bm{x}").contains('𝒙'));
}

#[test]
fn newlines_outside_environments() {
    // A trailing `\\` is dropped.
    assert_eq!(norm(r"a = b \\"), r"a = b ");
    assert_eq!(norm("a = b \\\\ \n"), "a = b  \n");
    assert_eq!(norm(r"a = b \\ \label{x}"), r"a = b  ");
    assert_clean("", &display(r"a = b \\"));
    // Others stack the lines.
    assert_eq!(norm(r"a \\ b"), r"\begin{gathered}a \\ b\end{gathered}");
    assert_eq!(
        norm(r"a &= b \\ &= c"),
        r"\begin{aligned}a &= b \\ &= c\end{aligned}"
    );
    assert_eq!(
        norm(r"a \newline b"),
        r"\begin{gathered}a \\ b\end{gathered}"
    );
    for tex in [
        r"a \\ b",
        r"a &= b \\ &= c \\",
        r"a \newline b",
        r"x \newline",
    ] {
        assert_clean(tex, &display(tex));
        assert_clean(tex, &inline(tex));
    }
    // Inside environments they are left alone.
    let tex = r"\begin{bmatrix} a \newline b \\ \end{bmatrix}";
    assert_eq!(norm(tex), r"\begin{bmatrix} a \\ b \\ \end{bmatrix}");
    assert_clean(tex, &display(tex));
}

#[test]
fn labels_tags_and_nonumber() {
    assert_eq!(norm(r"x \label{eq:1}"), r"x ");
    assert_eq!(
        norm(r"\begin{align} a &= b \nonumber \\ c &= d \notag \end{align}"),
        r"\begin{align*} a &= b  \\ c &= d  \end{align*}"
    );
    let mathml = display(r"E = mc^2 \tag{3.1}");
    assert_clean("", &mathml);
    assert!(mathml.contains("<mtext>(3.1)</mtext>"), "{mathml}");
    let mathml = display(r"E = mc^2 \tag*{A}");
    assert!(mathml.contains("<mtext>A</mtext>"), "{mathml}");
    assert_clean(
        "",
        &display(r"\begin{align} a &= b \label{x} \tag{2} \\ c &= d \end{align}"),
    );
}

#[test]
fn text_content_is_converted() {
    let mathml = inline(r"\text{50\% of \{x\} and a{b}c}");
    assert!(mathml.contains("<mtext>50</mtext>"), "{mathml}");
    assert!(mathml.contains(">%<"), "{mathml}");
    assert!(mathml.contains("and abc</mtext>"), "{mathml}");
    assert!(!body(&mathml).contains("\\%"), "{mathml}");
    let mathml = inline(r"\text{where $x$ is \textbf{bold}}");
    assert!(mathml.contains("<mi>x</mi>"), "{mathml}");
    assert!(mathml.contains("𝐛𝐨𝐥𝐝"), "{mathml}");
    assert!(!body(&mathml).contains('$'), "{mathml}");
    // Spaces at the edges stay single no-break spaces.
    let mathml = inline(r"\text{if } x");
    assert!(mathml.contains("<mtext>if\u{a0}</mtext>"), "{mathml}");
    assert_clean("", &mathml);
    let mathml = inline(r"\text{ }");
    assert!(mathml.contains("<mspace"), "{mathml}");
    // `\mbox`, `\emph`, `\textnormal` are text too.
    for tex in [
        r"\mbox{a b}",
        r"\emph{a b}",
        r"\textnormal{a b}",
        r"\hbox{a b}",
    ] {
        let mathml = inline(tex);
        assert_clean(tex, &mathml);
        assert!(mathml.contains("<mtext>"), "{tex:?}: {mathml}");
    }
}

#[test]
fn operatorname_spacing_and_star() {
    let mathml = inline(r"\operatorname{arg\,max}_x f");
    assert!(mathml.contains("<mi>arg\u{2009}max</mi>"), "{mathml}");
    let mathml = display(r"\operatorname*{arg\,max}_x f");
    assert!(
        mathml.contains("<munder><mi>arg\u{2009}max</mi>"),
        "{mathml}"
    );
    let mathml = inline(r"\operatorname*{arg\,max}_x f");
    assert!(mathml.contains("<msub><mi>arg\u{2009}max</mi>"), "{mathml}");
    assert_clean("", &inline(r"\operatorname{\mathbf{T}r}(A)"));
}

#[test]
fn dots_follow_amsmath() {
    assert_eq!(norm(r"1, \dots, n"), r"1, \ldots, n");
    assert_eq!(norm(r"1 + \dots + n"), r"1 + \cdots + n");
    assert_eq!(norm(r"a \dots \cdot b"), r"a \cdots \cdot b");
    assert_eq!(norm(r"a_1 \dots"), r"a_1 \ldots");
    assert!(inline(r"1, \dots, n").contains('…'));
}

#[test]
fn newcommand_gets_an_argument_count() {
    assert_eq!(
        norm(r"\newcommand{\R}{\mathbb{R}} x \in \R"),
        r"\newcommand{\R}[0]{\mathbb{R}} x \in \R"
    );
    assert_eq!(
        norm(r"\newcommand\R{\mathbb{R}} \R"),
        r"\newcommand{\R}[0]{\mathbb{R}} \R"
    );
    assert_eq!(
        norm(r"\newcommand{\f}[1]{#1^2} \f{x}"),
        r"\newcommand{\f}[1]{#1^2} \f{x}"
    );
    assert_clean("", &inline(r"\newcommand{\R}{\mathbb{R}} x \in \R"));
    assert_clean("", &inline(r"\DeclareMathOperator{\tr}{tr} \tr A"));
    assert!(inline(r"\DeclareMathOperator{\tr}{tr} \tr A").contains("<mi>tr</mi>"));
}

#[test]
fn infix_fractions() {
    assert_eq!(norm(r"{a \over b}"), r"{\frac{a }{ b}}");
    assert_eq!(norm(r"{n \choose k}"), r"{\binom{n }{ k}}");
    assert_clean("", &inline(r"{a+1 \over b} + {n \choose k} + {x \atop y}"));
}

#[test]
fn assorted_mathjax_extras() {
    for tex in [
        r"\boxed{x = \frac{1}{2}}",
        r"\xRightarrow{f} \xmapsto[g]{f} \xleftrightarrow{x}",
        r"\cancelto{0}{x} + \bcancel{y} + \xcancel{z}",
        r"\phantom{x} \vphantom{\frac12} \hphantom{y} \smash[b]{y} \bbox[red]{x}",
        r"\mathllap{x} \mathrlap{x} \mathclap{x} \llap{x} \rlap{x} \ensuremath{x}",
        r"a \mod{n} \quad b \pod{n}",
        r"\unicode{x263A} \unicode{9786}",
        r"\Bbb{R} \mathscr{F} \bold{x}",
        r"\require{cancel} \cancel{x}",
        r"\hspace*{1em} \vspace{1em} x",
    ] {
        let mathml = display(tex);
        assert_clean(tex, &mathml);
    }
    assert!(inline(r"\unicode{x263A}").contains('☺'));
    assert!(inline(r"\boxed{x}").contains("menv-left-solid"));
}

// ---- errors and robustness ------------------------------------------------------------

#[test]
fn errors_carry_the_parser_message() {
    let error = render(r"\frac{a}", MathMode::Inline).unwrap_err();
    assert!(error.message.contains("expected"), "{}", error.message);
    assert!(!error.message.contains('\n'), "{}", error.message);
    let error = render(r"x + \tr A + \rank B", MathMode::Inline).unwrap_err();
    assert_eq!(error.message, r"unknown commands `\tr`, `\rank`");
    let error = render(r"\left( x", MathMode::Display).unwrap_err();
    assert!(error.message.contains("unbalanced"), "{}", error.message);
}

#[test]
fn fallback_shows_escaped_source() {
    let (html, error) = render_or_fallback(r"a < \nosuch{b} & c", MathMode::Inline);
    let error = error.expect("an error");
    assert!(html.starts_with("<code class=\"math-error\""), "{html}");
    assert!(html.contains("⚠"), "{html}");
    assert!(html.contains(r"a &lt; \nosuch{b} &amp; c"), "{html}");
    assert!(html.contains(&format!("title=\"{}\"", escape_html(&error.message))));
    let (html, error) = render_or_fallback("\\nosuch\n\\\\", MathMode::Display);
    assert!(error.is_some());
    assert!(html.starts_with("<span class=\"math-error-block\" style=\"display:block\">"));
    assert!(html.contains("\\nosuch\n\\\\"), "{html}");
    let (html, error) = render_or_fallback("x^2", MathMode::Display);
    assert!(error.is_none());
    assert!(html.starts_with("<math display=\"block\">"));
}

#[test]
fn annotation_holds_escaped_source() {
    let mathml = inline(r"a < b \& c > d");
    assert!(
        mathml.contains(
            "<annotation encoding=\"application/x-tex\">a &lt; b \\&amp; c &gt; d</annotation>"
        ),
        "{mathml}"
    );
    assert!(mathml.contains("<semantics><mrow>"), "{mathml}");
    assert!(mathml.ends_with("</semantics></math>"), "{mathml}");
}

#[test]
fn garbage_never_panics() {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "\\",
        "\\\\",
        "{",
        "}",
        r"\frac{",
        "}}}",
        "{{{",
        r"\begin{bmatrix}",
        r"\begin{bmatrix} a & b \\",
        r"\end{bmatrix}",
        r"\begin{}",
        r"\begin{cases",
        r"\begin{equation}",
        r"\end{equation}",
        r"\left(",
        r"\right)",
        r"\left\",
        r"x_",
        r"x^",
        r"^_^",
        "&",
        "#",
        "$",
        "%",
        "\\text{",
        "\\text{$x",
        "\\text{\\",
        "\\operatorname*",
        "\\tag",
        "\\label",
        "\\newcommand",
        "\\newcommand{",
        "\\DeclareMathOperator",
        "\\xRightarrow[",
        "\\unicode{xFFFFFFFF}",
        "\\unicode{xD800}",
        "\\def\\a{\\a}\\a",
        "\\boxed",
        "\\Huge",
        "\\dots",
        "{\\over}",
        "\\over",
        "é \\é ∑ \u{0}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    inputs.push("{".repeat(100) + "x" + &"}".repeat(100));
    inputs.push("{".repeat(10_000) + "x" + &"}".repeat(10_000));
    inputs.push("{".repeat(10_000));
    inputs.push("}".repeat(10_000));
    inputs.push("\\sqrt".repeat(3000) + " x");
    inputs.push("\\frac{a}".repeat(3000) + "x");
    inputs.push("\\hat".repeat(5000) + "x");
    inputs.push("\\begin{matrix}".repeat(500));
    inputs.push("\\text{".repeat(500));
    inputs.push("x^".repeat(2000) + "x");
    // Nesting just under the limit, through the recursive rewrites.
    for open in [
        "{",
        "\\text{",
        "\\boxed{",
        "\\xmapsto{",
        "\\sqrt{",
        "x^{",
        "\\mathbf{",
        "\\operatorname{\\mathrm{",
        "\\text{$",
    ] {
        let depth = MAX_DEPTH - 2;
        let close = if open.ends_with('$') { "$}" } else { "}" };
        inputs.push(open.repeat(depth) + "x" + &close.repeat(depth));
    }
    for input in &inputs {
        for mode in [MathMode::Inline, MathMode::Display] {
            let (html, error) = render_or_fallback(input, mode);
            if error.is_none() {
                assert!(html.starts_with("<math"), "{input:?}");
                assert!(!html.contains("merror"), "{input:?}");
            } else {
                assert!(html.contains("math-error"), "{input:?}");
            }
        }
    }
    // Deep nesting is refused, not overflowed.
    let deep = "{".repeat(10_000) + "x" + &"}".repeat(10_000);
    assert!(render(&deep, MathMode::Inline).is_err());
    // Empty input is an empty formula.
    assert!(render("", MathMode::Inline).is_ok());
}

#[test]
fn random_token_soup_never_panics() {
    let alphabet = [
        "{",
        "}",
        "\\frac",
        "\\text{",
        "\\begin{bmatrix}",
        "\\end{bmatrix}",
        "\\begin{equation}",
        "\\end{equation}",
        "\\\\",
        "&",
        "x",
        "^",
        "_",
        " ",
        "\\left(",
        "\\right)",
        "\\Huge",
        "\\ ",
        "~",
        "$",
        "\\operatorname*",
        "\\dots",
        "\\over",
        "[",
        "]",
        "\\tag",
        "\\label",
        "\\newcommand",
        "\\sqrt",
        "%",
        "\n",
        "\\",
        "\\mathbf",
        "\\begin{align}",
        "\\end{align}",
        "\\boxed",
        "\\newline",
        "\\bm",
        "#",
        "é",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let len = (next() % 24) as usize;
        let tex: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        for mode in [MathMode::Inline, MathMode::Display] {
            let (html, error) = render_or_fallback(&tex, mode);
            if error.is_none() {
                assert!(!html.contains("merror"), "{tex:?}");
            }
        }
    }
}

#[test]
fn untouched_tex_round_trips() {
    let tex = "\\frac{a}{b} + \\sqrt[3]{x} % comment\n + \\begin{pmatrix} 1 & 2 \\end{pmatrix}";
    assert_eq!(
        norm(tex),
        "\\frac{a}{b} + \\sqrt[3]{x} \n + \\begin{pmatrix} 1 & 2 \\end{pmatrix}"
    );
    // Unbalanced input is passed through as written (pulldown-latex reports it).
    assert_eq!(norm(r"\frac{a"), r"\frac{a");
    assert_eq!(norm(r"a } b"), r"a } b");
    assert_eq!(norm(r"\end{cases} x"), r"\end{cases} x");
    assert_eq!(norm(r"\begin{cases} x"), r"\begin{cases} x");
}

// ---- assets ---------------------------------------------------------------------------

#[test]
fn assets_are_complete_and_offline() {
    let assets = assets();
    let css = assets
        .iter()
        .find(|(path, _)| *path == "math/styles.css")
        .map(|(_, bytes)| std::str::from_utf8(bytes).expect("utf-8 css"))
        .expect("styles.css");
    assert!(!css.contains("http"), "network URL in styles.css");
    assert!(!css.contains("//"), "network URL in styles.css");
    let mut referenced = 0;
    for part in css.split("url(").skip(1) {
        let url = part
            .split(')')
            .next()
            .unwrap_or("")
            .trim_matches(['\'', '"']);
        let path = format!("math/{url}");
        assert!(
            assets.iter().any(|(asset, _)| *asset == path),
            "styles.css refers to {url}, which is not served"
        );
        referenced += 1;
    }
    assert_eq!(referenced, 4);
    for (path, bytes) in &assets {
        assert!(!bytes.is_empty(), "{path} is empty");
        if path.ends_with(".woff2") {
            assert_eq!(&bytes[..4], b"wOF2", "{path} is not a WOFF2 font");
        }
    }
    assert!(
        assets
            .iter()
            .any(|(path, bytes)| *path == "math/LICENSE-pulldown-latex"
                && std::str::from_utf8(bytes).is_ok_and(|text| text.contains("MIT License")))
    );
}

#[test]
fn is_thread_safe() {
    let handles: Vec<_> = (0..4)
        .map(|n| {
            std::thread::spawn(move || {
                for i in 0..50 {
                    let tex = format!(r"\frac{{{n}}}{{{i}}} + \Huge x_{{{i}}}");
                    assert!(render(&tex, MathMode::Inline).is_ok());
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("no panic");
    }
}

#[test]
fn tex_arguments_never_become_html() {
    for tex in [
        r"\operatorname{</mi><img src=x onerror=alert(1)>}(x)",
        r"\operatorname*{</mi><img src=x onerror=alert(1)>}(x)",
        r"\mathop{</mi><img src=x onerror=alert(1)>}(x)",
        r"\mathop{</mi><mi onmouseover=alert(1)>}x",
        r"\operatorname{a&b}",
        r"\text{<b>bold</b>}",
        r"\mathbb{<script>}",
    ] {
        for mode in [MathMode::Inline, MathMode::Display] {
            let (html, _) = render_or_fallback(tex, mode);
            assert!(!html.contains("<img"), "{tex}: {html}");
            assert!(!html.contains("<script"), "{tex}: {html}");
            assert!(!html.contains("<b>"), "{tex}: {html}");
            assert!(!html.contains("<mi onmouseover"), "{tex}: {html}");
        }
    }
    // A name with markup characters is still shown, escaped.
    let html = inline(r"\operatorname{a<b}");
    assert!(html.contains("&lt;"), "{html}");
    assert_eq!(
        only_math_markup("<mi>x</mi><img src=x>"),
        Err("the formula would write `<img>` into the page, which is not math".to_owned())
    );
    assert!(only_math_markup("<mo stretchy=\"true\" minsize=\"1.2em\">|</mo>").is_ok());
}
#[test]
fn a_phantom_leaves_a_base_for_a_subscript() {
    let tex = r"\begin{alignat}{3} \lim_{x\to a^+}& f(x) = L &&(a, b) \\ \phantom{\lim}_{x\to a^-}& &&(a-\delta,a) \end{alignat}";
    assert_clean(tex, &display(tex));
}

#[test]
fn accents_sit_on_their_base() {
    // `\vec{1}^T`: the arrow is an accent of the 1, the T a superscript beside them.
    let out = inline(r"\vec{1}^T + \hat{x} + \overline{xy}");
    assert_eq!(out.matches("<mover accent=\"true\">").count(), 3, "{out}");
    assert!(!out.contains("<mover>"), "{out}");
    assert_eq!(
        mark_accents("<mover><mrow><mi>x</mi></mrow><mi>y</mi></mover>"),
        "<mover><mrow><mi>x</mi></mrow><mi>y</mi></mover>",
        "a letter over a base is no accent"
    );
}
