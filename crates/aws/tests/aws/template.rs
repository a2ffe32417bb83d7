//! `template.yaml` grants each function exactly what `deploybot_core::profile::PROFILES` says it uses
//! (tables and their indexes, SSM parameters, invoke targets — never `*`), builds every
//! function from its own binary, and declares the tables exactly as
//! `dynamo::schema::TABLE_SPECS` describes them.

use deploybot_aws::bootstrap::{FunctionProfile, PROFILES};
use deploybot_aws::dynamo::TableSpecOf;
use deploybot_aws::dynamo::schema::{KeyType, TABLE_SPECS, TableRole};
use deploybot_core::invoke::{DeploymentCreateRequest, FunctionName};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// template.yaml as JSON, short-form tags in their long form (`!Ref X` → `{"Ref": "X"}`,
/// `!GetAtt A.B` → `{"Fn::GetAtt": "A.B"}`).
fn template() -> Value {
    let path = format!("{}/../../template.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("template.yaml is readable");
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("template.yaml is YAML");
    to_json(yaml)
}

fn to_json(yaml: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).expect("a number"),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), to_json(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" {
                "Ref".to_owned()
            } else {
                format!("Fn::{name}")
            };
            json!({ key: to_json(tagged.value) })
        }
    }
}

/// `slack-command` → `SlackCommand`.
fn pascal(function: FunctionName) -> String {
    function
        .as_str()
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn table_logical_id(role: TableRole) -> String {
    let name = role.as_str();
    format!("{}{}Table", name[..1].to_ascii_uppercase(), &name[1..])
}

fn resource<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    let found = &template["Resources"][logical_id];
    assert!(
        found.is_object(),
        "template.yaml has no resource {logical_id}"
    );
    found
}

fn statements(function: &Value) -> Vec<&Value> {
    function["Properties"]["Policies"]
        .as_array()
        .expect("Policies")
        .iter()
        .flat_map(|policy| policy["Statement"].as_array().expect("inline statements"))
        .collect()
}

fn statement<'a>(function: &'a Value, sid: &str) -> Option<&'a Value> {
    statements(function).into_iter().find(|s| s["Sid"] == sid)
}

fn resources(statement: &Value) -> Vec<Value> {
    statement["Resource"]
        .as_array()
        .expect("a list of resources")
        .clone()
}

fn env_vars(function: &Value) -> serde_json::Map<String, Value> {
    function["Properties"]["Environment"]["Variables"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// How other functions name `function`: a `Ref` to its resource, or — when it has an explicit
/// `FunctionName` (it is invoked back by functions it invokes, and references both ways would
/// be a circular dependency) — that name.
fn function_reference(template: &Value, function: FunctionName) -> Value {
    let logical_id = format!("{}Function", pascal(function));
    let named = &resource(template, &logical_id)["Properties"]["FunctionName"];
    if named.is_null() {
        json!({"Ref": logical_id})
    } else {
        assert_eq!(
            named,
            &json!({"Fn::Sub": format!("${{AWS::StackName}}-{function}")}),
            "{logical_id}: named after the stack and the function"
        );
        named.clone()
    }
}

/// The ARN other functions get invoke permission on, in the same two forms.
fn function_arn(template: &Value, function: FunctionName) -> Value {
    match function_reference(template, function) {
        Value::Object(r) if r.contains_key("Ref") => {
            json!({"Fn::GetAtt": format!("{}Function.Arn", pascal(function))})
        }
        _ => json!({"Fn::Sub": format!(
            "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:${{AWS::StackName}}-{function}"
        )}),
    }
}

fn check_function(template: &Value, profile: &FunctionProfile) {
    let function = profile.function;
    let logical_id = format!("{}Function", pascal(function));
    let resource = resource(template, &logical_id);
    assert_eq!(resource["Type"], "AWS::Serverless::Function");
    assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(
        resource["Metadata"]["BuildProperties"]["Binary"], "deploybot-lambda",
        "{logical_id} runs the one Lambda binary (ADR 0022)"
    );
    assert_eq!(
        resource["Properties"]["Environment"]["Variables"]["DEPLOYBOT_FUNCTION"],
        function.as_str(),
        "{logical_id} says which function it is"
    );
    assert_eq!(resource["Properties"]["CodeUri"], ".");
    assert_eq!(resource["Properties"]["Handler"], "bootstrap");
    // The time limit the profile's idempotency lease is computed from.
    let timeout = resource["Properties"]["Timeout"]
        .as_u64()
        .or_else(|| template["Globals"]["Function"]["Timeout"].as_u64());
    assert_eq!(
        timeout,
        Some(u64::from(profile.timeout_secs)),
        "{logical_id}: Timeout as the profile says"
    );
    let env = env_vars(resource);

    // Invoke targets: a FUNCTION_* variable and permission on that function only.
    let want_invokes: BTreeSet<String> = profile.invokes.iter().map(|f| f.env_var()).collect();
    let have_invokes: BTreeSet<String> = env
        .keys()
        .filter(|k| k.starts_with("FUNCTION_"))
        .cloned()
        .collect();
    assert_eq!(
        have_invokes, want_invokes,
        "{logical_id}: FUNCTION_* variables"
    );
    for target in profile.invokes {
        assert_eq!(
            env[&target.env_var()],
            function_reference(template, *target),
            "{logical_id}: {}",
            target.env_var()
        );
    }
    let invoke_arns: BTreeSet<String> = statement(resource, "Invoke")
        .map(|s| {
            assert_eq!(s["Action"], "lambda:InvokeFunction");
            resources(s).iter().map(Value::to_string).collect()
        })
        .unwrap_or_default();
    let want_arns: BTreeSet<String> = profile
        .invokes
        .iter()
        .map(|f| function_arn(template, *f).to_string())
        .collect();
    assert_eq!(invoke_arns, want_arns, "{logical_id}: invoke permissions");

    // Secrets: a <NAME>_PARAM variable for each, readable and nothing else.
    let want_params: BTreeSet<String> = profile
        .all_secrets()
        .map(|name| format!("{name}_PARAM"))
        .collect();
    let have_params: BTreeSet<String> = env
        .keys()
        .filter(|k| k.ends_with("_PARAM"))
        .cloned()
        .collect();
    assert_eq!(have_params, want_params, "{logical_id}: *_PARAM variables");
    let secrets = statement(resource, "Secrets").expect("a Secrets statement");
    assert_eq!(secrets["Action"], "ssm:GetParameters");
    assert_eq!(
        resources(secrets).len(),
        want_params.len(),
        "{logical_id}: one parameter ARN per secret"
    );
    for value in env
        .iter()
        .filter(|(k, _)| k.ends_with("_PARAM"))
        .map(|(_, v)| v)
    {
        let parameter = value.to_string();
        let logical = parameter
            .split('"')
            .find(|part| part.ends_with("Parameter"))
            .unwrap_or_else(|| panic!("{logical_id}: {parameter} names a template parameter"));
        assert!(
            secrets["Resource"]
                .to_string()
                .contains(&format!("${{{logical}}}")),
            "{logical_id}: may read {logical}"
        );
    }

    // Tables: each table the profile names, with its indexes, and nothing else.
    let have_tables: BTreeSet<String> = statement(resource, "Tables")
        .map(|s| {
            let actions = s["Action"].as_array().expect("a list of actions");
            assert!(
                !actions.contains(&json!("dynamodb:Scan")),
                "{logical_id}: no Scan"
            );
            resources(s).iter().map(Value::to_string).collect()
        })
        .unwrap_or_default();
    let mut want_tables = BTreeSet::new();
    for role in profile.tables {
        let table = table_logical_id(*role);
        want_tables.insert(json!({"Fn::GetAtt": format!("{table}.Arn")}).to_string());
        if !role.spec().indexes.is_empty() {
            want_tables.insert(json!({"Fn::Sub": format!("${{{table}.Arn}}/index/*")}).to_string());
        }
    }
    assert_eq!(have_tables, want_tables, "{logical_id}: table permissions");

    // Reached by HTTP or by invokes with retries and a failure destination.
    let events = &resource["Properties"]["Events"];
    match profile.route {
        // The board: one GET event per route of its router.
        Some(_) if profile.http_method() == "GET" => {
            let events = events.as_object().expect("events");
            let paths: BTreeSet<String> = events
                .values()
                .map(|event| {
                    assert_eq!(event["Type"], "HttpApi", "{logical_id}");
                    assert_eq!(event["Properties"]["Method"], "GET", "{logical_id}");
                    assert_eq!(event["Properties"]["PayloadFormatVersion"], "2.0");
                    event["Properties"]["Path"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned()
                })
                .collect();
            let want: BTreeSet<String> = deploybot_core::profile::WEB_ROUTES
                .iter()
                .map(|r| (*r).to_owned())
                .collect();
            assert_eq!(paths, want, "{logical_id}: GET routes");
        }
        Some(route) => {
            assert_eq!(events["Http"]["Type"], "HttpApi", "{logical_id}");
            assert_eq!(events["Http"]["Properties"]["Method"], "POST");
            assert_eq!(events["Http"]["Properties"]["Path"], route);
            assert_eq!(events["Http"]["Properties"]["PayloadFormatVersion"], "2.0");
        }
        None => {
            let config = &resource["Properties"]["EventInvokeConfig"];
            assert!(
                config["MaximumRetryAttempts"].is_object()
                    || config["MaximumRetryAttempts"].is_number(),
                "{logical_id}: bounded retries"
            );
            assert_eq!(config["DestinationConfig"]["OnFailure"]["Type"], "SQS");
            assert_eq!(
                config["DestinationConfig"]["OnFailure"]["Destination"],
                json!({"Fn::GetAtt": "FailedInvocationsQueue.Arn"})
            );
        }
    }
}

#[test]
fn every_function_gets_exactly_what_its_profile_lists() {
    let template = template();
    for profile in &PROFILES {
        check_function(&template, profile);
    }
    let functions = template["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .count();
    assert_eq!(
        functions,
        FunctionName::ALL.len(),
        "one function per package"
    );
}

#[test]
fn no_statement_grants_a_wildcard_resource() {
    let template = template();
    for (id, resource) in template["Resources"].as_object().expect("Resources") {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        for statement in statements(resource) {
            for granted in resources(statement) {
                assert_ne!(granted, json!("*"), "{id}: {statement}");
            }
        }
    }
}

#[test]
fn functions_run_on_al2023_with_the_architecture_parameter_defaulting_to_x86_64() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!([{"Ref": "Architecture"}]));
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "x86_64");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    for role in TableRole::ALL {
        assert_eq!(
            globals["Environment"]["Variables"][role.env_var()],
            json!({"Ref": table_logical_id(role)}),
            "{}",
            role.env_var()
        );
    }
}

#[test]
fn the_tables_are_the_ones_the_store_expects() {
    let template = template();
    for spec in &TABLE_SPECS {
        let id = table_logical_id(spec.role);
        let properties = &resource(&template, &id)["Properties"];
        assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST", "{id}");
        let attribute_type = |name: &str| {
            properties["AttributeDefinitions"]
                .as_array()
                .expect("AttributeDefinitions")
                .iter()
                .find(|a| a["AttributeName"] == name)
                .map(|a| a["AttributeType"].clone())
                .unwrap_or_else(|| panic!("{id}: no attribute definition for {name}"))
        };
        let code = |kind: KeyType| json!(kind.code());
        let mut key = vec![json!({"AttributeName": spec.partition_key.name, "KeyType": "HASH"})];
        assert_eq!(
            attribute_type(spec.partition_key.name),
            code(spec.partition_key.kind)
        );
        if let Some(sort) = &spec.sort_key {
            key.push(json!({"AttributeName": sort.name, "KeyType": "RANGE"}));
            assert_eq!(attribute_type(sort.name), code(sort.kind));
        }
        assert_eq!(properties["KeySchema"], Value::Array(key), "{id}");

        let indexes = properties["GlobalSecondaryIndexes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(indexes.len(), spec.indexes.len(), "{id}: indexes");
        for index in spec.indexes {
            let declared = indexes
                .iter()
                .find(|i| i["IndexName"] == index.name)
                .unwrap_or_else(|| panic!("{id}: no index {}", index.name));
            let mut key =
                vec![json!({"AttributeName": index.partition_key.name, "KeyType": "HASH"})];
            assert_eq!(
                attribute_type(index.partition_key.name),
                code(index.partition_key.kind)
            );
            if let Some(sort) = &index.sort_key {
                key.push(json!({"AttributeName": sort.name, "KeyType": "RANGE"}));
                assert_eq!(attribute_type(sort.name), code(sort.kind));
            }
            assert_eq!(
                declared["KeySchema"],
                Value::Array(key),
                "{id}.{}",
                index.name
            );
            assert_eq!(declared["Projection"]["ProjectionType"], "ALL");
        }

        match spec.ttl_attribute {
            Some(attribute) => {
                assert_eq!(
                    properties["TimeToLiveSpecification"]["AttributeName"],
                    attribute
                );
                assert_eq!(properties["TimeToLiveSpecification"]["Enabled"], true);
            }
            None => assert!(properties["TimeToLiveSpecification"].is_null(), "{id}"),
        }
        assert_eq!(
            properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
                .as_bool()
                .unwrap_or(false),
            spec.point_in_time_recovery,
            "{id}: point-in-time recovery"
        );
    }
}

#[test]
fn the_watchdog_sweeps_every_minute() {
    let template = template();
    let function = resource(&template, "GithubDeploymentCreateFunction");
    let schedule = &function["Properties"]["Events"]["Watchdog"];
    assert_eq!(schedule["Type"], "Schedule");
    assert_eq!(schedule["Properties"]["Schedule"], "rate(1 minute)");
    let input = schedule["Properties"]["Input"].as_str().expect("Input");
    let request: DeploymentCreateRequest =
        serde_json::from_str(input).expect("the input is a github-deployment-create request");
    assert_eq!(request, DeploymentCreateRequest::Watchdog);
}

#[test]
fn failed_invocations_are_queued_and_alarmed() {
    let template = template();
    assert_eq!(
        resource(&template, "FailedInvocationsQueue")["Type"],
        "AWS::SQS::Queue"
    );
    let alarm = resource(&template, "FailedInvocationsAlarm");
    assert_eq!(alarm["Type"], "AWS::CloudWatch::Alarm");
    // Messages sent, not visible: a message someone is reading still raised the alarm once.
    assert_eq!(alarm["Properties"]["MetricName"], "NumberOfMessagesSent");
    assert_eq!(alarm["Properties"]["Statistic"], "Sum");
    assert_eq!(
        alarm["Properties"]["Dimensions"][0]["Value"],
        json!({"Fn::GetAtt": "FailedInvocationsQueue.QueueName"})
    );
}

#[test]
fn every_alarm_notifies_the_stacks_topic_and_the_dashboard_shows_them() {
    let template = template();
    assert_eq!(resource(&template, "AlarmTopic")["Type"], "AWS::SNS::Topic");
    let subscription = resource(&template, "AlarmEmailSubscription");
    assert_eq!(subscription["Condition"], "HasAlarmEmail");
    assert_eq!(
        subscription["Properties"]["Endpoint"],
        json!({"Ref": "AlarmEmail"})
    );
    let resources = template["Resources"].as_object().expect("Resources");
    let alarms: Vec<&String> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, _)| id)
        .collect();
    for wanted in [
        "FailedInvocationsAlarm",
        "Api5xxAlarm",
        "FunctionErrorsAlarm",
        "FunctionThrottlesAlarm",
        "WatchdogReconciliationsAlarm",
    ] {
        assert!(
            alarms.iter().any(|a| *a == wanted),
            "{wanted} in {alarms:?}"
        );
    }
    let dashboard = resource(&template, "Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"][0]
        .as_str()
        .expect("a dashboard body");
    for id in &alarms {
        let alarm = resource(&template, id);
        assert_eq!(
            alarm["Properties"]["AlarmActions"],
            json!([{"Ref": "AlarmTopic"}]),
            "{id}"
        );
        assert!(
            dashboard.contains(&format!("${{{id}.Arn}}")),
            "the dashboard shows {id}"
        );
    }
    // The errors and throttles alarms sum exactly the ten functions.
    for id in ["FunctionErrorsAlarm", "FunctionThrottlesAlarm"] {
        let metrics = resource(&template, id)["Properties"]["Metrics"]
            .as_array()
            .expect("metric math")
            .clone();
        let functions: Vec<Value> = metrics
            .iter()
            .filter_map(|m| {
                m["MetricStat"]["Metric"]["Dimensions"][0]
                    .get("Value")
                    .cloned()
            })
            .collect();
        let want: Vec<Value> = FunctionName::ALL
            .into_iter()
            .map(|f| json!({"Ref": format!("{}Function", pascal(f))}))
            .collect();
        assert_eq!(functions.len(), want.len(), "{id}");
        for f in want {
            assert!(functions.contains(&f), "{id} lacks {f}");
        }
    }
    // The metrics the functions report are the ones the dashboard and alarm name.
    for name in [
        "Deployments",
        "LaneQueueDepth",
        "SignatureFailures",
        "ProviderApiErrors",
        "WatchdogReconciliations",
    ] {
        assert!(dashboard.contains(name), "the dashboard shows {name}");
    }
    let watchdog = resource(&template, "WatchdogReconciliationsAlarm");
    assert_eq!(
        watchdog["Properties"]["Namespace"],
        deploybot_core::metrics::NAMESPACE
    );
}

#[test]
fn each_function_logs_to_its_own_group_with_a_retention() {
    let template = template();
    let globals = &template["Globals"]["Function"]["LoggingConfig"];
    assert_eq!(
        globals["SystemLogLevel"], "INFO",
        "START/REPORT lines are kept"
    );
    assert_eq!(template["Parameters"]["LogRetentionDays"]["Default"], 30);
    let mut groups = Vec::new();
    for function in FunctionName::ALL {
        let logical_id = format!("{}Function", pascal(function));
        let group =
            resource(&template, &logical_id)["Properties"]["LoggingConfig"]["LogGroup"].clone();
        let group_id = group["Ref"]
            .as_str()
            .expect("a Ref to a log group")
            .to_owned();
        let resource = resource(&template, &group_id);
        assert_eq!(resource["Type"], "AWS::Logs::LogGroup");
        assert_eq!(
            resource["Properties"]["RetentionInDays"],
            json!({"Ref": "LogRetentionDays"})
        );
        assert!(!groups.contains(&group_id), "{group_id} is shared");
        groups.push(group_id);
    }
}

#[test]
fn the_github_app_id_is_read_from_ssm_not_a_stack_parameter() {
    let template = template();
    let parameters = template["Parameters"].as_object().expect("Parameters");
    assert!(!parameters.contains_key("GithubAppId"));
    assert!(parameters.contains_key("GithubAppIdParameter"));
    for name in ["GithubApiUrl", "CircleciApiUrl", "CircleciAppUrl"] {
        assert!(parameters.contains_key(name), "{name}");
    }
}

#[test]
fn the_outputs_are_the_five_webhook_urls() {
    let template = template();
    let outputs = template["Outputs"].as_object().expect("Outputs");
    for profile in PROFILES.iter().filter(|p| p.route.is_some()) {
        let route = profile.route.unwrap_or_default();
        let found = outputs.values().any(|o| {
            o["Value"]["Fn::Sub"]
                .as_str()
                .is_some_and(|v| v.ends_with(route))
        });
        assert!(found, "an output URL for {route}");
    }
}
