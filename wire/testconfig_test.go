package wire_test

import (
	"bytes"

	"github.com/iotplatform/enduser-auth/application"
	modwire "github.com/iotplatform/enduser-auth/wire"
)

// testConfig is the configuration of the tests that assemble a module: a
// master key of key's byte, the CN data center, WeChat at wxURL, and the
// abuse limits off (the tests that check the limits switch them on), as
// before the limits were on by default.
func testConfig(key byte, wxURL string) modwire.Config {
	app := application.DefaultConfig()
	app.DataCenter = "CN"
	c := modwire.Config{MasterKey: bytes.Repeat([]byte{key}, 32), Application: app}
	c.WeChat.BaseURL = wxURL
	c.Limits.Off = true
	return c
}
