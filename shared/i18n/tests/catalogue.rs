//! Both catalogues complete and in step: every key in each, the same
//! `{ $arguments }` in each message, no syntax error or duplicate, and every
//! message formats with its arguments.

use std::collections::{BTreeMap, BTreeSet};

use fluent_syntax::ast;
use i18n::{Args, FILES, Lang};

type Messages = BTreeMap<String, BTreeSet<String>>;

/// Message id → the variables it uses, for one language.
fn messages(lang: &str) -> Messages {
    let mut out = Messages::new();
    for (file_lang, file, source) in FILES {
        if *file_lang != lang {
            continue;
        }
        let resource = match fluent_syntax::parser::parse(*source) {
            Ok(r) => r,
            Err((_, errors)) => panic!("{lang}/{file}: syntax errors {errors:?}"),
        };
        for entry in resource.body {
            if let ast::Entry::Message(m) = entry {
                let mut vars = BTreeSet::new();
                let value = m
                    .value
                    .unwrap_or_else(|| panic!("{lang}/{file}: {} has no value", m.id.name));
                pattern_vars(&value, &mut vars);
                let id = m.id.name.to_owned();
                assert!(
                    out.insert(id.clone(), vars).is_none(),
                    "{lang}/{file}: {id} defined twice"
                );
            }
        }
    }
    out
}

fn pattern_vars(pattern: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_vars(expression, vars);
        }
    }
}

fn expression_vars(expression: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
    match expression {
        ast::Expression::Select { selector, variants } => {
            inline_vars(selector, vars);
            for v in variants {
                pattern_vars(&v.value, vars);
            }
        }
        ast::Expression::Inline(inline) => inline_vars(inline, vars),
    }
}

fn inline_vars(inline: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
    match inline {
        ast::InlineExpression::VariableReference { id } => {
            vars.insert(id.name.to_owned());
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_vars(a, vars);
            }
            for a in &arguments.named {
                inline_vars(&a.value, vars);
            }
        }
        ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars),
        _ => {}
    }
}

#[test]
fn every_key_in_both_languages_with_the_same_arguments() {
    let en = messages("en");
    let ko = messages("ko");
    let only_en: Vec<_> = en.keys().filter(|k| !ko.contains_key(*k)).collect();
    let only_ko: Vec<_> = ko.keys().filter(|k| !en.contains_key(*k)).collect();
    assert!(only_en.is_empty(), "missing in Korean: {only_en:?}");
    assert!(only_ko.is_empty(), "missing in English: {only_ko:?}");
    for (key, vars) in &en {
        assert_eq!(vars, &ko[key], "{key}: arguments differ between en and ko");
    }
    println!("catalogue: {} keys per language", en.len());
}

#[test]
fn every_message_formats_with_its_arguments() {
    for lang in Lang::ALL {
        for (key, vars) in messages(lang.as_str()) {
            let mut args = Args::new();
            for v in &vars {
                args.set(v.clone(), 7);
            }
            let text = i18n::text_with(lang, &key, &args);
            assert!(!text.is_empty() && text != key, "{lang} {key}");
            assert!(
                !text.contains('{') && !text.contains('}'),
                "{lang} {key}: {text}"
            );
            assert!(!text.contains('\u{2068}'), "{lang} {key}: isolation marks");
        }
    }
}

/// The Korean catalogue is Korean: each message has Hangul in it, except
/// the few that are names (languages, the slash command's English name).
#[test]
fn korean_messages_are_korean() {
    let names = ["language-name-en", "language-name-ko"];
    for key in messages("ko").keys() {
        if names.contains(&key.as_str()) {
            continue;
        }
        let text = i18n::text(Lang::Ko, key);
        assert!(
            text.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)),
            "{key}: {text}"
        );
    }
}
