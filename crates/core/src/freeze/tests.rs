use super::*;

fn at(text: &str) -> Timestamp {
    let t: jiff::Timestamp = text.parse().expect("an instant");
    Timestamp::from_millis(t.as_millisecond())
}

fn zone(name: &str) -> Zone {
    Zone::parse(name).expect("a zone")
}

fn local(text: &str) -> DateTime {
    parse_local_date_time(text).expect("a local date-time")
}

fn weekly(name: &str, tz: &str, from: &str, until: &str, envs: &[&str]) -> FreezeWindow {
    FreezeWindow {
        name: name.into(),
        environments: envs.iter().map(|e| (*e).to_owned()).collect(),
        schedule: Schedule::Weekly {
            zone: zone(tz),
            from: WeeklyTime::parse(from).expect("weekly"),
            until: WeeklyTime::parse(until).expect("weekly"),
        },
        reason: None,
        line: 0,
    }
}

fn once(name: &str, tz: &str, from: &str, until: &str) -> FreezeWindow {
    FreezeWindow {
        name: name.into(),
        environments: vec!["production".into()],
        schedule: Schedule::Once {
            zone: zone(tz),
            from: local(from),
            until: local(until),
        },
        reason: Some("peak traffic".into()),
        line: 0,
    }
}

/// The 2026 and 2027 daylight-saving changes in Europe (last Sunday of March and of October,
/// 01:00 UTC) and the United States (second Sunday of March, first Sunday of November,
/// 02:00 local).
#[test]
fn wall_clock_times_across_the_2026_and_2027_changes() {
    // (zone, local time, start instant, end instant)
    let rows = [
        // London, clocks forward: 01:00–02:00 does not exist; the change is 01:00 UTC.
        (
            "Europe/London",
            "2026-03-29T01:30",
            "2026-03-29T01:00Z",
            "2026-03-29T01:00Z",
        ),
        (
            "Europe/London",
            "2027-03-28T01:30",
            "2027-03-28T01:00Z",
            "2027-03-28T01:00Z",
        ),
        (
            "Europe/London",
            "2026-03-29T00:59",
            "2026-03-29T00:59Z",
            "2026-03-29T00:59Z",
        ),
        (
            "Europe/London",
            "2026-03-29T02:00",
            "2026-03-29T01:00Z",
            "2026-03-29T01:00Z",
        ),
        // London, clocks back: 01:00–02:00 happens twice (BST, then GMT).
        (
            "Europe/London",
            "2026-10-25T01:30",
            "2026-10-25T00:30Z",
            "2026-10-25T01:30Z",
        ),
        (
            "Europe/London",
            "2027-10-31T01:30",
            "2027-10-31T00:30Z",
            "2027-10-31T01:30Z",
        ),
        (
            "Europe/London",
            "2026-10-25T02:00",
            "2026-10-25T02:00Z",
            "2026-10-25T02:00Z",
        ),
        // Berlin: the same instants, an hour later on the wall clock.
        (
            "Europe/Berlin",
            "2026-03-29T02:30",
            "2026-03-29T01:00Z",
            "2026-03-29T01:00Z",
        ),
        (
            "Europe/Berlin",
            "2027-03-28T02:30",
            "2027-03-28T01:00Z",
            "2027-03-28T01:00Z",
        ),
        (
            "Europe/Berlin",
            "2026-10-25T02:30",
            "2026-10-25T00:30Z",
            "2026-10-25T01:30Z",
        ),
        (
            "Europe/Berlin",
            "2027-10-31T02:30",
            "2027-10-31T00:30Z",
            "2027-10-31T01:30Z",
        ),
        // New York, clocks forward at 02:00 EST (07:00 UTC).
        (
            "America/New_York",
            "2026-03-08T02:30",
            "2026-03-08T07:00Z",
            "2026-03-08T07:00Z",
        ),
        (
            "America/New_York",
            "2027-03-14T02:30",
            "2027-03-14T07:00Z",
            "2027-03-14T07:00Z",
        ),
        // New York, clocks back: 01:00–02:00 happens twice (EDT, then EST).
        (
            "America/New_York",
            "2026-11-01T01:30",
            "2026-11-01T05:30Z",
            "2026-11-01T06:30Z",
        ),
        (
            "America/New_York",
            "2027-11-07T01:30",
            "2027-11-07T05:30Z",
            "2027-11-07T06:30Z",
        ),
        // Los Angeles, the same rules three hours west.
        (
            "America/Los_Angeles",
            "2026-03-08T02:15",
            "2026-03-08T10:00Z",
            "2026-03-08T10:00Z",
        ),
        (
            "America/Los_Angeles",
            "2026-11-01T01:15",
            "2026-11-01T08:15Z",
            "2026-11-01T09:15Z",
        ),
        // An ordinary day.
        (
            "America/New_York",
            "2026-07-04T12:00",
            "2026-07-04T16:00Z",
            "2026-07-04T16:00Z",
        ),
    ];
    for (tz, wall, start, end) in rows {
        let z = zone(tz);
        assert_eq!(z.start_instant(local(wall)), at(start), "start {tz} {wall}");
        assert_eq!(z.end_instant(local(wall)), at(end), "end {tz} {wall}");
    }
}

#[test]
fn a_weekly_window_keeps_its_wall_clock_across_a_change() {
    let w = weekly(
        "weekend",
        "Europe/London",
        "Fri 16:00",
        "Mon 08:00",
        &["production"],
    );
    // (a week's Friday, its start, its end): the spring weekend is 63 hours, the autumn 65.
    let rows = [
        (
            "2026-03-20T12:00Z",
            "2026-03-20T16:00Z",
            "2026-03-23T08:00Z",
        ),
        (
            "2026-03-27T12:00Z",
            "2026-03-27T16:00Z",
            "2026-03-30T07:00Z",
        ),
        (
            "2026-04-03T12:00Z",
            "2026-04-03T15:00Z",
            "2026-04-06T07:00Z",
        ),
        (
            "2026-10-23T12:00Z",
            "2026-10-23T15:00Z",
            "2026-10-26T08:00Z",
        ),
        (
            "2027-03-26T12:00Z",
            "2027-03-26T16:00Z",
            "2027-03-29T07:00Z",
        ),
        (
            "2027-10-29T12:00Z",
            "2027-10-29T15:00Z",
            "2027-11-01T08:00Z",
        ),
    ];
    for (friday, start, end) in rows {
        let found = w
            .schedule
            .occurrences(at(friday), at(friday).plus_secs(86_400));
        assert_eq!(
            found,
            vec![Occurrence {
                start: at(start),
                end: at(end)
            }],
            "{friday}"
        );
    }
}

#[test]
fn a_weekly_window_in_new_york_across_the_us_changes() {
    let w = weekly("night", "America/New_York", "Sat 22:00", "Sun 06:00", &[]);
    let rows = [
        // 2026-03-08: 22:00 EST Saturday, 06:00 EDT Sunday: seven hours.
        (
            "2026-03-07T12:00Z",
            "2026-03-08T03:00Z",
            "2026-03-08T10:00Z",
        ),
        // 2026-11-01: 22:00 EDT, 06:00 EST: nine hours.
        (
            "2026-10-31T12:00Z",
            "2026-11-01T02:00Z",
            "2026-11-01T11:00Z",
        ),
        (
            "2027-03-13T12:00Z",
            "2027-03-14T03:00Z",
            "2027-03-14T10:00Z",
        ),
        (
            "2027-11-06T12:00Z",
            "2027-11-07T02:00Z",
            "2027-11-07T11:00Z",
        ),
    ];
    for (saturday, start, end) in rows {
        let found = w
            .schedule
            .occurrences(at(saturday), at(saturday).plus_secs(86_400));
        assert_eq!(
            found,
            vec![Occurrence {
                start: at(start),
                end: at(end)
            }],
            "{saturday}"
        );
    }
}

#[test]
fn frozen_at_says_until_when_and_why() {
    let windows = vec![
        weekly(
            "weekend",
            "Europe/London",
            "Fri 16:00",
            "Mon 08:00",
            &["production"],
        ),
        once(
            "black-friday",
            "America/New_York",
            "2026-11-26T00:00",
            "2026-12-01T09:00",
        ),
    ];
    // (environment, instant, frozen by, until)
    let rows = [
        ("production", "2026-06-05T14:59Z", None),
        // 16:00 BST is 15:00 UTC; the start is included.
        (
            "production",
            "2026-06-05T15:00Z",
            Some(("weekend", "2026-06-08T07:00Z")),
        ),
        (
            "production",
            "2026-06-07T23:00Z",
            Some(("weekend", "2026-06-08T07:00Z")),
        ),
        // The end is excluded.
        ("production", "2026-06-08T07:00Z", None),
        (
            "PRODUCTION",
            "2026-06-06T10:00Z",
            Some(("weekend", "2026-06-08T07:00Z")),
        ),
        ("staging", "2026-06-06T10:00Z", None),
        // Black Friday starts at midnight in New York (05:00 UTC) and ends on Tuesday 09:00
        // (14:00 UTC), after the weekend it swallows.
        ("production", "2026-11-26T04:59Z", None),
        (
            "production",
            "2026-11-26T05:00Z",
            Some(("black-friday", "2026-12-01T14:00Z")),
        ),
        (
            "production",
            "2026-11-28T12:00Z",
            Some(("black-friday", "2026-12-01T14:00Z")),
        ),
        ("production", "2026-12-01T14:00Z", None),
    ];
    for (env, t, want) in rows {
        let got = frozen_at(&windows, env, at(t));
        match (got, want) {
            (None, None) => {}
            (Some(f), Some((name, until))) => {
                assert_eq!(f.name, name, "{env} {t}");
                assert_eq!(f.until, at(until), "{env} {t}");
            }
            (got, want) => panic!("{env} {t}: got {got:?}, want {want:?}"),
        }
    }
    let f = frozen_at(&windows, "production", at("2026-11-27T12:00Z")).expect("frozen");
    assert_eq!(f.why(), "black-friday — peak traffic");
    assert_eq!(f.since, at("2026-11-26T05:00Z"));
}

#[test]
fn back_to_back_windows_freeze_until_the_last_one_ends() {
    let windows = vec![
        weekly("weekend", "UTC", "Fri 16:00", "Mon 08:00", &[]),
        FreezeWindow {
            name: "by hand".into(),
            environments: vec!["production".into()],
            schedule: Schedule::Fixed {
                from: at("2026-06-08T06:00Z"),
                until: at("2026-06-08T12:00Z"),
            },
            reason: Some("migration".into()),
            line: 0,
        },
    ];
    let f = frozen_at(&windows, "production", at("2026-06-06T00:00Z")).expect("frozen");
    assert_eq!(f.until, at("2026-06-08T12:00Z"));
    assert_eq!(f.why(), "by hand — migration");
    // Elsewhere the hand-set freeze does not apply.
    let f = frozen_at(&windows, "staging", at("2026-06-06T00:00Z")).expect("frozen");
    assert_eq!(f.until, at("2026-06-08T08:00Z"));
    // Windows that cover the whole week still answer.
    let always = vec![
        weekly("a", "UTC", "Mon 00:00", "Thu 00:00", &[]),
        weekly("b", "UTC", "Thu 00:00", "Mon 00:00", &[]),
    ];
    let f = frozen_at(&always, "x", at("2026-06-06T00:00Z")).expect("frozen");
    assert!(f.until > at("2026-07-01T00:00Z"), "{f:?}");
}

#[test]
fn windows_starting_soon_are_listed_in_order() {
    let windows = vec![
        weekly(
            "weekend",
            "Europe/London",
            "Fri 16:00",
            "Mon 08:00",
            &["production"],
        ),
        weekly("nightly", "UTC", "Wed 02:00", "Wed 03:00", &["staging"]),
    ];
    let from = at("2026-06-01T00:00Z");
    let found = starting_between(&windows, None, from, from.plus_secs(7 * 86_400));
    let names: Vec<(&str, Timestamp)> = found
        .iter()
        .map(|u| (u.window.name.as_str(), u.occurrence.start))
        .collect();
    assert_eq!(
        names,
        vec![
            ("nightly", at("2026-06-03T02:00Z")),
            ("weekend", at("2026-06-05T15:00Z")),
        ]
    );
    let found = starting_between(&windows, Some("staging"), from, from.plus_secs(7 * 86_400));
    assert_eq!(found.len(), 1);
}

#[test]
fn texts_are_read_or_refused_with_a_sentence() {
    assert_eq!(
        WeeklyTime::parse("fri 16:00").expect("ok").to_string(),
        "Fri 16:00"
    );
    assert_eq!(
        WeeklyTime::parse("Monday 8:05").expect("ok").to_string(),
        "Mon 08:05"
    );
    for bad in [
        "Fri",
        "Fri 25:00",
        "Fri 16:60",
        "Fri 16h",
        "Friyay 16:00",
        "16:00 Fri",
        "",
    ] {
        let e = WeeklyTime::parse(bad).expect_err(bad);
        assert!(e.contains("Fri 16:00"), "{bad}: {e}");
    }
    assert!(parse_local_date_time("2026-11-26T00:00").is_ok());
    for bad in [
        "2026-11-26",
        "2026-11-26 00:00",
        "2026-11-26T00:00:00",
        "2026-11-26T00:00Z",
        "2026-02-30T00:00",
        "26-11-26T00:00",
    ] {
        let e = parse_local_date_time(bad).expect_err(bad);
        assert!(e.contains("2026-11-26T09:00"), "{bad}: {e}");
    }
    assert_eq!(zone("Europe/London").name(), "Europe/London");
    for bad in ["Mars/Olympus", "+01:00", "CET +1", ""] {
        let e = Zone::parse(bad).expect_err(bad);
        assert!(e.contains("IANA"), "{bad}: {e}");
    }
}
