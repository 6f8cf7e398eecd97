//! Structural checks of the SAM template (`template.yaml`) that cfn-lint cannot make:
//! API key on the `/events` route, least-privilege secret access, partial batch responses,
//! dead-letter queue and visibility timeout rules, the arm64 cargo-lambda build, and that
//! the function only gets documented settings as environment variables.
//!
//! SAM intrinsic short forms (`!Ref`, `!GetAtt`, `!Sub`, `!If`, `!FindInMap`, ...) parse as
//! YAML tagged values; the long forms (`Ref:`, `Fn::GetAtt:`) are understood too.

use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};

const TEMPLATE: &str = include_str!("../template.yaml");

/// Settings of SPEC §1 the function may receive, plus the metrics namespace and Lambda's
/// own log-format variable. `PINTEREST_ACCESS_TOKEN` is deliberately absent: in Lambda the
/// token only ever comes from Secrets Manager, never from a plain environment variable.
const DOCUMENTED_SETTINGS: &[&str] = &[
    "PINTEREST_AD_ACCOUNT_ID",
    "PINTEREST_TOKEN_SECRET_ID",
    "PINTEREST_CLICK_ID_COOKIE",
    "PINTEREST_TEST_MODE",
    "PINTEREST_MAPPING",
    "PINTEREST_MAPPING_FILE",
    "PINTEREST_API_BASE_URL",
    "PINTEREST_MAX_EVENT_AGE_SECS",
    "PINTEREST_TOKEN_TTL_SECS",
    "PINTEREST_MAX_CONCURRENCY",
    "PINTEREST_MAX_BODY_BYTES",
    "PINTEREST_METRICS_NAMESPACE",
    "AWS_LAMBDA_LOG_FORMAT",
];

fn template() -> Value {
    serde_norway::from_str(TEMPLATE).unwrap_or_else(|e| panic!("template.yaml does not parse: {e}"))
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping()?.get(key)
}

/// Follows a dotted path of mapping keys; panics with the path when something is missing.
fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |cur, key| {
        get(cur, key).unwrap_or_else(|| panic!("template: `{path}` is missing (at `{key}`)"))
    })
}

fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    at(v, path)
        .as_str()
        .unwrap_or_else(|| panic!("template: `{path}` is not a string"))
}

/// `!Name value` or `{Name: value}` / `{"Fn::Name": value}` → (`Name`, value).
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_string(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next()?;
            let k = k.as_str()?;
            if k == "Ref" || k.starts_with("Fn::") || k == "Condition" {
                Some((k.trim_start_matches("Fn::").to_string(), inner))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The logical id named by `!Ref X`.
fn ref_target(v: &Value) -> Option<&str> {
    match intrinsic(v)? {
        (name, target) if name == "Ref" => target.as_str(),
        _ => None,
    }
}

/// The logical id and attribute named by `!GetAtt X.Attr` or `Fn::GetAtt: [X, Attr]`.
fn getatt_target(v: &Value) -> Option<(String, String)> {
    let (name, target) = intrinsic(v)?;
    if name != "GetAtt" {
        return None;
    }
    match target {
        Value::String(s) => {
            let (id, attr) = s.split_once('.')?;
            Some((id.to_string(), attr.to_string()))
        }
        Value::Sequence(parts) if parts.len() == 2 => Some((
            parts[0].as_str()?.to_string(),
            parts[1].as_str()?.to_string(),
        )),
        _ => None,
    }
}

fn resources(t: &Value) -> &Mapping {
    at(t, "Resources")
        .as_mapping()
        .expect("Resources is a mapping")
}

fn resource<'a>(t: &'a Value, id: &str) -> &'a Value {
    resources(t)
        .get(id)
        .unwrap_or_else(|| panic!("resource `{id}` is not in the template"))
}

fn resources_of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| get(r, "Type").and_then(Value::as_str) == Some(ty))
        .map(|(k, r)| (k.as_str().expect("logical ids are strings"), r))
        .collect()
}

/// The one Lambda function of the stack: (logical id, resource).
fn function(t: &Value) -> (&str, &Value) {
    let fns = resources_of_type(t, "AWS::Serverless::Function");
    assert_eq!(
        fns.len(),
        1,
        "expected exactly one AWS::Serverless::Function"
    );
    fns[0]
}

fn function_events(t: &Value) -> Vec<(&str, &Value)> {
    let (_, f) = function(t);
    at(f, "Properties.Events")
        .as_mapping()
        .expect("function Events is a mapping")
        .iter()
        .map(|(k, e)| (k.as_str().expect("event names are strings"), e))
        .collect()
}

fn events_of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    function_events(t)
        .into_iter()
        .filter(|(_, e)| get(e, "Type").and_then(Value::as_str) == Some(ty))
        .collect()
}

fn parameter<'a>(t: &'a Value, name: &str) -> Option<&'a Value> {
    get(at(t, "Parameters"), name)
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Values a parameter can take that matter for a numeric bound: its AllowedValues when
/// given, otherwise its Default.
fn parameter_values(t: &Value, name: &str) -> Vec<f64> {
    let p = parameter(t, name).unwrap_or_else(|| panic!("parameter `{name}` is not declared"));
    if let Some(Value::Sequence(allowed)) = get(p, "AllowedValues") {
        let values: Vec<f64> = allowed.iter().filter_map(as_f64).collect();
        assert_eq!(
            values.len(),
            allowed.len(),
            "`{name}` AllowedValues are numbers"
        );
        values
    } else {
        let d = get(p, "Default").and_then(as_f64);
        vec![d.unwrap_or_else(|| panic!("numeric parameter `{name}` needs a Default"))]
    }
}

/// The smallest value a numeric setting can take: a literal, or a parameter's smallest
/// allowed value (AllowedValues, else MinValue, else Default).
fn minimum(t: &Value, v: &Value) -> f64 {
    if let Some(n) = as_f64(v) {
        return n;
    }
    let name = ref_target(v).unwrap_or_else(|| panic!("expected a number or !Ref, got {v:?}"));
    let p = parameter(t, name).unwrap_or_else(|| panic!("parameter `{name}` is not declared"));
    if let Some(Value::Sequence(allowed)) = get(p, "AllowedValues") {
        return allowed
            .iter()
            .filter_map(as_f64)
            .fold(f64::INFINITY, f64::min);
    }
    get(p, "MinValue")
        .or_else(|| get(p, "Default"))
        .and_then(as_f64)
        .unwrap_or_else(|| panic!("parameter `{name}` has no MinValue or Default"))
}

/// Evaluates a numeric expression: literal, `!Ref Param` (from `given`, else the
/// parameter's Default) or `!FindInMap [Map, key, key]` whose keys are such expressions.
fn eval(t: &Value, v: &Value, given: &BTreeMap<String, f64>) -> f64 {
    eval_str(t, v, given)
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {v:?}"))
}

fn eval_str(t: &Value, v: &Value, given: &BTreeMap<String, f64>) -> String {
    match v {
        Value::Number(n) => return n.to_string(),
        Value::String(s) => return s.clone(),
        _ => {}
    }
    let (name, inner) = intrinsic(v).unwrap_or_else(|| panic!("cannot evaluate {v:?}"));
    match name.as_str() {
        "Ref" => {
            let p = inner.as_str().expect("!Ref names a string");
            if let Some(x) = given.get(p) {
                return x.to_string();
            }
            let default = parameter(t, p)
                .and_then(|p| get(p, "Default"))
                .unwrap_or_else(|| panic!("`!Ref {p}` has no value and no Default"));
            eval_str(t, default, given)
        }
        "FindInMap" => {
            let parts = inner.as_sequence().expect("!FindInMap takes a list");
            assert_eq!(parts.len(), 3, "!FindInMap takes three arguments");
            let map = eval_str(t, &parts[0], given);
            let k1 = eval_str(t, &parts[1], given);
            let k2 = eval_str(t, &parts[2], given);
            let found = get(at(t, "Mappings"), &map)
                .and_then(|m| get(m, &k1))
                .and_then(|m| get(m, &k2))
                .unwrap_or_else(|| panic!("mapping {map}/{k1}/{k2} is missing"));
            eval_str(t, found, given)
        }
        other => panic!("cannot evaluate !{other}"),
    }
}

/// Every plain string anywhere below `v` (tag names excluded).
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(s) => s.iter().for_each(|x| strings(x, out)),
        Value::Mapping(m) => m.iter().for_each(|(k, x)| {
            strings(k, out);
            strings(x, out)
        }),
        Value::Tagged(t) => strings(&t.value, out),
        _ => {}
    }
}

#[test]
fn template_parses_with_intrinsic_tags() {
    let t = template();
    assert_eq!(str_at(&t, "Transform"), "AWS::Serverless-2016-10-31");
    let api_url = at(&t, "Outputs.ApiUrl.Value");
    let (name, sub) = intrinsic(api_url).expect("ApiUrl is an intrinsic");
    assert_eq!(name, "Sub");
    let sub = sub.as_str().expect("!Sub takes a string here");
    assert!(sub.starts_with("https://${"), "{sub}");
    assert!(
        sub.contains(".execute-api.${AWS::Region}.amazonaws.com/"),
        "{sub}"
    );
    assert!(sub.ends_with("/events"), "{sub}");
}

#[test]
fn function_is_an_arm64_al2023_cargo_lambda_build() {
    let t = template();
    let (_, f) = function(&t);
    assert_eq!(str_at(f, "Properties.Runtime"), "provided.al2023");
    assert_eq!(str_at(f, "Properties.Handler"), "bootstrap");
    assert_eq!(str_at(f, "Properties.CodeUri"), ".");
    let archs = at(f, "Properties.Architectures")
        .as_sequence()
        .expect("list");
    assert_eq!(archs, &vec![Value::from("arm64")]);
    assert_eq!(str_at(f, "Metadata.BuildMethod"), "rust-cargolambda");
    let binary = str_at(f, "Metadata.BuildProperties.Binary");
    assert_eq!(binary, "pinterest-destination");
    let manifest = include_str!("../Cargo.toml");
    assert!(
        manifest.contains(&format!("name = \"{binary}\"")),
        "Cargo.toml declares no binary named {binary}"
    );
    assert_eq!(str_at(f, "Properties.LoggingConfig.LogFormat"), "JSON");
}

#[test]
fn function_logs_to_a_log_group_with_retention() {
    let t = template();
    let (_, f) = function(&t);
    let group = ref_target(at(f, "Properties.LoggingConfig.LogGroup"))
        .expect("LoggingConfig.LogGroup is a !Ref to the stack's log group");
    let group = resource(&t, group);
    assert_eq!(str_at(group, "Type"), "AWS::Logs::LogGroup");
    assert!(minimum(&t, at(group, "Properties.RetentionInDays")) >= 1.0);
}

#[test]
fn events_route_requires_an_api_key_or_iam() {
    let t = template();
    let apis = events_of_type(&t, "Api");
    let routes: Vec<_> = apis
        .iter()
        .filter(|(_, e)| str_at(e, "Properties.Path") == "/events")
        .collect();
    assert_eq!(routes.len(), 1, "one Api event for /events");
    // ANY: other methods reach the function, which answers them 405 (SPEC §2), rather than API Gateway's 403.
    assert_eq!(
        str_at(routes[0].1, "Properties.Method").to_ascii_lowercase(),
        "any"
    );
    let (_, event) = routes[0];
    let api_id = ref_target(at(event, "Properties.RestApiId")).expect("RestApiId is a !Ref");
    let api = resource(&t, api_id);
    assert_eq!(str_at(api, "Type"), "AWS::Serverless::Api");

    let event_auth = get(at(event, "Properties"), "Auth");
    let api_auth = get(at(api, "Properties"), "Auth");
    let flag = |auth: Option<&Value>, key: &str| auth.and_then(|a| get(a, key)).cloned();
    let api_key = flag(event_auth, "ApiKeyRequired")
        .or_else(|| flag(api_auth, "ApiKeyRequired"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let iam = flag(event_auth, "Authorizer")
        .or_else(|| flag(api_auth, "DefaultAuthorizer"))
        .and_then(|v| v.as_str().map(str::to_owned))
        .is_some_and(|a| a == "AWS_IAM");
    assert!(api_key || iam, "POST /events needs an API key or IAM auth");
    assert_ne!(
        flag(event_auth, "Authorizer")
            .as_ref()
            .and_then(Value::as_str),
        Some("NONE"),
        "the event must not switch auth off"
    );
    if api_key && !iam {
        // Without a usage plan no key exists and no request can get through.
        let plan = api_auth
            .map(|a| str_at(a, "UsagePlan.CreateUsagePlan"))
            .expect("the API creates a usage plan for its key");
        assert!(
            matches!(plan, "PER_API" | "SHARED"),
            "CreateUsagePlan: {plan}"
        );
    }
}

/// The statements of a role's inline policies, with the condition of each `!If [condition, statement,
/// !Ref AWS::NoValue]`.
fn role_statements(role: &Value) -> Vec<(Option<String>, &Value)> {
    let policies = at(role, "Properties.Policies")
        .as_sequence()
        .expect("Policies is a list");
    let mut statements = Vec::new();
    for policy in policies {
        let listed = at(policy, "PolicyDocument.Statement")
            .as_sequence()
            .expect("Statement is a list");
        for statement in listed {
            match intrinsic(statement) {
                Some((name, args)) if name == "If" => {
                    let args = args.as_sequence().expect("!If takes a list");
                    assert_eq!(args.len(), 3, "{args:?}");
                    assert_eq!(ref_target(&args[2]), Some("AWS::NoValue"), "{args:?}");
                    let condition = args[0].as_str().expect("a condition name").to_owned();
                    statements.push((Some(condition), &args[1]));
                }
                _ => statements.push((None, statement)),
            }
        }
    }
    statements
}

/// A statement's actions, as a sorted list.
fn actions(statement: &Value) -> Vec<String> {
    let mut actions = Vec::new();
    strings(at(statement, "Action"), &mut actions);
    actions.sort();
    actions
}

#[test]
fn function_role_grants_each_permission_on_its_one_resource() {
    let t = template();
    let (_, f) = function(&t);
    let props = at(f, "Properties");
    assert!(
        get(props, "Policies").is_none(),
        "no SAM policies: SAM would add AWS's managed policies (every queue, every log group)"
    );
    let (role_id, attribute) = getatt_target(at(props, "Role")).expect("Role: !GetAtt <role>.Arn");
    assert_eq!(attribute, "Arn");
    let role = resource(&t, &role_id);
    assert_eq!(str_at(role, "Type"), "AWS::IAM::Role");
    let role_props = at(role, "Properties");
    assert!(
        get(role_props, "ManagedPolicyArns").is_none(),
        "no managed policies"
    );
    let trust = at(role_props, "AssumeRolePolicyDocument.Statement")
        .as_sequence()
        .expect("Statement is a list");
    assert_eq!(trust.len(), 1);
    assert_eq!(
        str_at(&trust[0], "Principal.Service"),
        "lambda.amazonaws.com"
    );
    assert_eq!(str_at(&trust[0], "Action"), "sts:AssumeRole");

    // What the SQS event source consumes, and what the function reads its token from.
    let (queue_id, _) = getatt_target(at(function_events(&t)[0].1, "Properties.Queue"))
        .expect("the SQS event's queue is a !GetAtt");
    let env = at(props, "Environment.Variables");
    let secret_ref =
        ref_target(at(env, "PINTEREST_TOKEN_SECRET_ID")).expect("the secret is a !Ref");
    let log_group =
        ref_target(at(props, "LoggingConfig.LogGroup")).expect("the log group is a !Ref");

    let statements = role_statements(role);
    let mut granted = Vec::new();
    for (condition, statement) in &statements {
        assert_eq!(str_at(statement, "Effect"), "Allow");
        let actions = actions(statement);
        assert!(
            actions.iter().all(|a| !a.contains('*')),
            "no wildcard action: {actions:?}"
        );
        let resource_value = at(statement, "Resource");
        let mut literal = Vec::new();
        strings(resource_value, &mut literal);
        assert!(
            literal.iter().all(|s| !s.contains('*')),
            "no wildcard resource: {literal:?}"
        );
        let target = ref_target(resource_value)
            .map(str::to_owned)
            .or_else(|| {
                getatt_target(resource_value).map(|(id, attribute)| format!("{id}.{attribute}"))
            })
            .unwrap_or_else(|| panic!("each resource is one !Ref or !GetAtt: {resource_value:?}"));
        granted.push((condition.clone(), actions, target));
    }
    let expected = vec![
        (
            None,
            vec![
                "logs:CreateLogStream".to_owned(),
                "logs:PutLogEvents".to_owned(),
            ],
            format!("{log_group}.Arn"),
        ),
        (
            None,
            vec![
                "sqs:DeleteMessage".to_owned(),
                "sqs:GetQueueAttributes".to_owned(),
                "sqs:ReceiveMessage".to_owned(),
            ],
            format!("{queue_id}.Arn"),
        ),
        (
            None,
            vec!["secretsmanager:GetSecretValue".to_owned()],
            secret_ref.to_owned(),
        ),
        (
            Some("HasTokenKmsKey".to_owned()),
            vec!["kms:Decrypt".to_owned()],
            "TokenKmsKeyArn".to_owned(),
        ),
    ];
    assert_eq!(granted, expected);
    // The key decrypts only for Secrets Manager.
    let kms = statements
        .iter()
        .find(|(condition, _)| condition.is_some())
        .map(|(_, statement)| *statement)
        .expect("the KMS statement");
    let via = at(kms, "Condition.StringEquals");
    let (name, service) = intrinsic(at(via, "kms:ViaService")).expect("!Sub of the service");
    assert_eq!(name, "Sub");
    assert_eq!(
        service.as_str(),
        Some("secretsmanager.${AWS::Region}.amazonaws.com")
    );

    // An existing secret passed in: its full ARN, never a pattern.
    let pattern = str_at(
        parameter(&t, secret_ref).expect("the secret is a parameter"),
        "AllowedPattern",
    );
    assert!(
        pattern.starts_with("^arn:aws") && pattern.contains(":secretsmanager:"),
        "{pattern}"
    );
    // The secret-name part admits no `*` and no `.` wildcard, and requires the 6-character suffix of a full
    // secret ARN (IAM needs the exact ARN).
    let name_part = pattern.split(":secret:").nth(1).unwrap_or_default();
    assert!(
        !name_part.is_empty()
            && !name_part.contains('*')
            && !name_part.contains(".+")
            && name_part.ends_with("-[A-Za-z0-9]{6}$"),
        "the secret ARN pattern must name one full ARN, no wildcard: {pattern}"
    );
    let key_pattern = str_at(
        parameter(&t, "TokenKmsKeyArn").expect("TokenKmsKeyArn"),
        "AllowedPattern",
    );
    assert!(
        key_pattern.starts_with("^$|^arn:aws") && key_pattern.contains(":key/"),
        "{key_pattern}"
    );

    // No other IAM document in the stack reaches the function or grants secrets.
    for ty in [
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Role",
    ] {
        for (id, r) in resources_of_type(&t, ty) {
            if id == role_id {
                continue;
            }
            let rp = at(r, "Properties");
            for attach in ["Roles", "Users", "Groups"] {
                assert!(
                    get(rp, attach).is_none(),
                    "{id} must not be attached ({attach})"
                );
            }
            let mut all = Vec::new();
            strings(rp, &mut all);
            assert!(
                all.iter()
                    .all(|s| !s.starts_with("secretsmanager:") && !s.starts_with("kms:")),
                "{id} must not grant Secrets Manager or KMS access"
            );
        }
    }
}

#[test]
fn sqs_event_reports_batch_item_failures_with_bounded_concurrency() {
    let t = template();
    let sqs = events_of_type(&t, "SQS");
    assert_eq!(sqs.len(), 1, "one SQS event source");
    let (_, e) = sqs[0];
    let types = at(e, "Properties.FunctionResponseTypes")
        .as_sequence()
        .expect("list");
    assert!(types.contains(&Value::from("ReportBatchItemFailures")));
    assert!(minimum(&t, at(e, "Properties.ScalingConfig.MaximumConcurrency")) >= 2.0);
    assert!(minimum(&t, at(e, "Properties.BatchSize")) >= 1.0);
    let batch = eval(&t, at(e, "Properties.BatchSize"), &BTreeMap::new());
    let window = eval(
        &t,
        at(e, "Properties.MaximumBatchingWindowInSeconds"),
        &BTreeMap::new(),
    );
    assert!(
        batch <= 10.0 || window >= 1.0,
        "Lambda needs a batching window of at least 1 s for batches above 10"
    );
    let (queue, attr) = getatt_target(at(e, "Properties.Queue")).expect("Queue: !GetAtt X.Arn");
    assert_eq!(attr, "Arn");
    assert_eq!(str_at(resource(&t, &queue), "Type"), "AWS::SQS::Queue");
}

#[test]
fn queue_has_a_14_day_dead_letter_queue_and_five_or_more_receives() {
    let t = template();
    let (_, e) = events_of_type(&t, "SQS")[0];
    let (queue_id, _) = getatt_target(at(e, "Properties.Queue")).expect("!GetAtt");
    let queue = resource(&t, &queue_id);
    assert_eq!(
        at(queue, "Properties.SqsManagedSseEnabled").as_bool(),
        Some(true)
    );
    let redrive = at(queue, "Properties.RedrivePolicy");
    assert!(minimum(&t, at(redrive, "maxReceiveCount")) >= 5.0);
    let (dlq_id, attr) = getatt_target(at(redrive, "deadLetterTargetArn")).expect("!GetAtt");
    assert_eq!(attr, "Arn");
    assert_ne!(dlq_id, queue_id);
    let dlq = resource(&t, &dlq_id);
    assert_eq!(str_at(dlq, "Type"), "AWS::SQS::Queue");
    assert_eq!(
        eval(
            &t,
            at(dlq, "Properties.MessageRetentionPeriod"),
            &BTreeMap::new()
        ),
        1_209_600.0,
        "DLQ keeps messages 14 days"
    );
    assert_eq!(
        at(dlq, "Properties.SqsManagedSseEnabled").as_bool(),
        Some(true)
    );
}

#[test]
fn visibility_timeout_is_at_least_six_function_timeouts() {
    let t = template();
    let (_, f) = function(&t);
    let (_, e) = events_of_type(&t, "SQS")[0];
    let (queue_id, _) = getatt_target(at(e, "Properties.Queue")).expect("!GetAtt");
    let visibility = at(resource(&t, &queue_id), "Properties.VisibilityTimeout");
    let timeout = at(f, "Properties.Timeout");
    // Check every timeout the deployer may choose, not only the default.
    let choices: Vec<(Option<String>, f64)> = match ref_target(timeout) {
        Some(p) => parameter_values(&t, p)
            .into_iter()
            .map(|v| (Some(p.to_string()), v))
            .collect(),
        None => vec![(None, as_f64(timeout).expect("numeric Timeout"))],
    };
    assert!(!choices.is_empty());
    for (param, secs) in choices {
        let given: BTreeMap<String, f64> = param.into_iter().map(|p| (p, secs)).collect();
        let vis = eval(&t, visibility, &given);
        assert!(
            vis >= 6.0 * secs,
            "timeout {secs} s: visibility {vis} s < 6 x timeout"
        );
        assert!(vis <= 43_200.0, "SQS visibility timeout is at most 12 h");
    }
}

#[test]
fn environment_holds_only_documented_settings() {
    let t = template();
    let (_, f) = function(&t);
    let vars = at(f, "Properties.Environment.Variables")
        .as_mapping()
        .expect("Variables is a mapping");
    let names: BTreeSet<&str> = vars.keys().filter_map(Value::as_str).collect();
    assert_eq!(names.len(), vars.len(), "variable names are strings");
    let documented: BTreeSet<&str> = DOCUMENTED_SETTINGS.iter().copied().collect();
    let unknown: Vec<_> = names.difference(&documented).collect();
    assert!(unknown.is_empty(), "undocumented variables: {unknown:?}");
    for required in ["PINTEREST_AD_ACCOUNT_ID", "PINTEREST_TOKEN_SECRET_ID"] {
        assert!(names.contains(required), "{required} is set");
    }
    let account = vars
        .get("PINTEREST_AD_ACCOUNT_ID")
        .and_then(ref_target)
        .expect("the advertiser id is a parameter");
    let account = parameter(&t, account).expect("declared");
    assert_eq!(str_at(account, "AllowedPattern"), "^[0-9]{1,18}$");
}

#[test]
fn outputs_cover_queue_api_and_function() {
    let t = template();
    let outputs = at(&t, "Outputs");
    for key in [
        "QueueUrl",
        "QueueArn",
        "DeadLetterQueueUrl",
        "ApiUrl",
        "ApiKeyId",
        "FunctionName",
    ] {
        assert!(get(outputs, key).is_some(), "output {key} is missing");
    }
}

/// The template accepts no metrics namespace the function would refuse at start-up (CloudFormation patterns are
/// ECMAScript regular expressions, as JSON Schema's `pattern`), and every ordinary one.
#[test]
fn metrics_namespace_pattern_accepts_only_what_the_function_accepts() {
    let t = template();
    let pattern = str_at(
        parameter(&t, "MetricsNamespace").expect("MetricsNamespace"),
        "AllowedPattern",
    );
    let schema = serde_json::json!({"type": "string", "pattern": pattern});
    let validator = jsonschema::validator_for(&schema).expect("the pattern compiles");
    let template_accepts = |namespace: &str| validator.is_valid(&serde_json::json!(namespace));
    let function_accepts = |namespace: &str| {
        pinterest_destination::config::Settings::from_env(|name| match name {
            "PINTEREST_AD_ACCOUNT_ID" => Some("549755885175".to_owned()),
            "PINTEREST_ACCESS_TOKEN" => Some("pina_x".to_owned()),
            "PINTEREST_METRICS_NAMESPACE" => Some(namespace.to_owned()),
            _ => None,
        })
        .is_ok()
    };
    let longest = "n".repeat(255);
    for namespace in [
        "PinterestDestination",
        "Ads/Pinterest",
        "a",
        "Ads Pinterest",
        "a:b",
        "#x_y-z.1",
        &longest,
    ] {
        assert!(template_accepts(namespace), "{namespace:?}");
        assert!(function_accepts(namespace), "{namespace:?}");
    }
    let too_long = "n".repeat(256);
    // Blank is "not set" for the function (the default namespace), and it trims: the template asks for a value
    // without spaces at its ends, so that what it passes is what the function checks.
    for namespace in [
        ":x",
        "AWS/Lambda",
        " AWS/x",
        "é",
        "a,b",
        &too_long,
        "",
        " ",
        "x ",
        " x",
    ] {
        assert!(!template_accepts(namespace), "{namespace:?}");
    }
}

/// Lambda refuses an SQS event source with more than 10 messages per batch and no batching window: the
/// template's rule refuses those parameters before anything is created.
#[test]
fn a_rule_refuses_large_batches_without_a_batching_window() {
    let t = template();
    let rules = at(&t, "Rules").as_mapping().expect("Rules is a mapping");
    let rule = rules
        .values()
        .find(|rule| {
            let mut named = Vec::new();
            strings(at(rule, "RuleCondition"), &mut named);
            named.contains(&"BatchingWindowSeconds".to_owned())
        })
        .expect("a rule on BatchingWindowSeconds");
    let (name, args) = intrinsic(at(rule, "RuleCondition")).expect("an intrinsic condition");
    assert_eq!(name, "Equals");
    let args = args.as_sequence().expect("!Equals takes a list");
    assert_eq!(ref_target(&args[0]), Some("BatchingWindowSeconds"));
    assert_eq!(args[1].as_str(), Some("0"));
    let assertions = at(rule, "Assertions").as_sequence().expect("a list");
    assert_eq!(assertions.len(), 1);
    let (name, args) = intrinsic(at(&assertions[0], "Assert")).expect("an intrinsic assertion");
    assert_eq!(name, "Contains");
    let args = args.as_sequence().expect("!Contains takes a list");
    let allowed: Vec<String> = args[0]
        .as_sequence()
        .expect("the allowed sizes")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let one_to_ten: Vec<String> = (1..=10).map(|n| n.to_string()).collect();
    assert_eq!(allowed, one_to_ten);
    assert_eq!(ref_target(&args[1]), Some("BatchSize"));
}

/// The API alarm watches metrics the function really emits: the same names, the namespace parameter the
/// function's setting gets, and a `Trigger` value the function uses for API Gateway REST events.
#[test]
fn api_alarm_watches_the_functions_own_metrics() {
    let t = template();
    let alarm = at(resource(&t, "ApiEventsNotDeliveredAlarm"), "Properties");
    let (_, f) = function(&t);
    let namespace_parameter = ref_target(at(
        f,
        "Properties.Environment.Variables.PINTEREST_METRICS_NAMESPACE",
    ))
    .expect("the namespace is a !Ref");
    let emitted = pinterest_destination::summary::Counters::default().emf(
        "Ns",
        "rest_api",
        1_700_000_000_000,
        1,
        "INFO",
    );
    let queries = at(alarm, "Metrics")
        .as_sequence()
        .expect("Metrics is a list");
    let mut watched = Vec::new();
    for query in queries {
        let Some(stat) = get(query, "MetricStat") else {
            continue;
        };
        let metric = at(stat, "Metric");
        assert_eq!(
            ref_target(at(metric, "Namespace")),
            Some(namespace_parameter)
        );
        let name = str_at(metric, "MetricName");
        assert!(
            emitted[name].is_u64(),
            "{name} is not a metric the function emits"
        );
        let dimensions = at(metric, "Dimensions").as_sequence().expect("a list");
        assert_eq!(dimensions.len(), 1);
        assert_eq!(str_at(&dimensions[0], "Name"), "Trigger");
        assert_eq!(str_at(&dimensions[0], "Value"), emitted["Trigger"]);
        watched.push(name.to_owned());
    }
    watched.sort();
    assert_eq!(watched, ["EventsFailed", "EventsRejected"]);
    let (actions, _) =
        intrinsic(at(alarm, "AlarmActions")).expect("AlarmActions: !If [HasAlarmTopic, ...]");
    assert_eq!(actions, "If", "notifies the optional topic");
}
