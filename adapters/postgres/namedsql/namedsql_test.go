package namedsql

import (
	"slices"
	"strings"
	"testing"
)

func TestTranslate(t *testing.T) {
	src := `-- header: the person's login (an apostrophe in a comment)
WITH a AS (
	SELECT @user_domain, 'it''s @not_a_param -- nor a comment', "col@x"   -- trailing comment, @neither
	/* a block /* nested */ comment @no */
	FROM t WHERE x = @open_id AND y = @user_domain AND z @> '{}' AND jsonb_path_exists(j, '$.a')

)
SELECT @Later_1`
	st, err := Translate(src)
	if err != nil {
		t.Fatal(err)
	}
	want := `WITH a AS (
	SELECT $1, 'it''s @not_a_param -- nor a comment', "col@x"
	FROM t WHERE x = $2 AND y = $1 AND z @> '{}' AND jsonb_path_exists(j, '$.a')
)
SELECT $3`
	if st.SQL != want {
		t.Errorf("SQL:\n%s\nwant:\n%s", st.SQL, want)
	}
	if !slices.Equal(st.Names, []string{"user_domain", "open_id", "Later_1"}) {
		t.Errorf("names %v", st.Names)
	}
}

func TestTranslateRefuses(t *testing.T) {
	for _, src := range []string{
		"SELECT $1",
		"SELECT $$x$$, @a",
		"SELECT 'unterminated @a",
		"SELECT @a /* unterminated",
		"SELECT 1",
	} {
		if st, err := Translate(src); err == nil {
			t.Errorf("Translate(%q) = %+v, want an error", src, st)
		}
	}
}

func TestCheck(t *testing.T) {
	st := Statement{SQL: "SELECT $1, $2", Names: []string{"a", "b"}}
	if err := st.Check([]string{"b", "a"}); err != nil {
		t.Errorf("all bound: %v", err)
	}
	for _, c := range []struct {
		bound []string
		want  string
	}{
		{[]string{"a"}, "@b is not bound"},
		{[]string{"a", "b", "c"}, "@c is bound but not used"},
		{[]string{"a", "b", "a"}, "@a is bound twice"},
	} {
		if err := st.Check(c.bound); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%v) = %v, want %q", c.bound, err, c.want)
		}
	}
}
