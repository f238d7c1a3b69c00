package main
import (
 _ "modernc.org/sqlite"
 _ "github.com/jackc/pgx/v5/pgxpool"
 _ "github.com/jackc/pgx/v5/stdlib"
 _ "github.com/pressly/goose/v3"
 _ "golang.org/x/crypto/argon2"
 _ "golang.org/x/crypto/bcrypt"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "github.com/prometheus/client_golang/prometheus/promhttp"
 _ "github.com/spf13/cobra"
 _ "github.com/schollz/progressbar/v3"
 _ "github.com/go-jose/go-jose/v4"
 _ "github.com/google/uuid"
 _ "gopkg.in/yaml.v3"
 _ "golang.org/x/term"
)
func main(){}
